import { type Html, html } from './html.js';
import type { ViewerView } from './view-models.js';

/** The URLs of the pages' assets, each with its content hash (page-assets.ts). */
export interface AssetUrls {
  css: string;
  icon: string;
  taskPage: string;
  dashboard: string;
}

export interface LayoutInput {
  title: string;
  body: Html;
  viewer: ViewerView | null;
  assets: AssetUrls;
  /** The page's script, an ES module under /assets; pages carry no inline script or style (CSP). */
  script?: string;
}

/** The frame of every page: head, the top bar with who is signed in, then the page's body. */
export function renderLayout(input: LayoutInput): string {
  const { viewer, assets } = input;
  const script = input.script ? html`<script type="module" src="${input.script}"></script>` : '';
  const who = viewer
    ? html`<div class="viewer"><span class="viewer-name">${viewer.name}</span>${
        viewer.operator ? html`<span class="badge">operator</span>` : ''
      }<form method="post" action="/logout"><button type="submit" class="link-button">Sign out</button></form></div>`
    : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${input.title} · Patchbay</title>
<link rel="icon" type="image/svg+xml" href="${assets.icon}">
<link rel="stylesheet" href="${assets.css}">
${script}
</head>
<body>
<header class="topbar"><a class="brand" href="/tasks"><img src="${assets.icon}" alt="" width="20" height="20">Patchbay</a><nav><a href="/tasks">Tasks</a></nav>${who}</header>
<main class="page">${input.body}</main>
</body>
</html>
`.value;
}
