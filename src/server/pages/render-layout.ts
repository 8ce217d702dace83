import { type Html, html } from './html.js';
import type { ViewerView } from './view-models.js';

/** An asset's URL by its file name: `['task-page.js']` is `/assets/task-page.<hash>.js` (page-assets.ts). */
export type AssetUrls = Readonly<Record<string, string>>;

export interface LayoutInput {
  title: string;
  body: Html;
  viewer: ViewerView | null;
  assets: AssetUrls;
  /** The page's stylesheets besides base.css, by file name. */
  styles?: string[];
  /** The page's script, an ES module; pages carry no inline script or style (CSP). */
  script?: string;
}

function assetUrl(assets: AssetUrls, name: string): string {
  const url = assets[name];
  if (!url) throw new Error(`no page asset named ${name}`);
  return url;
}

/** The frame of every page: head, the top bar with who is signed in, then the page's body. */
export function renderLayout(input: LayoutInput): string {
  const { viewer, assets } = input;
  const icon = assetUrl(assets, 'icon.svg');
  const styles = ['base.css', ...(input.styles ?? [])].map(
    (name) => html`<link rel="stylesheet" href="${assetUrl(assets, name)}">`,
  );
  const script = input.script
    ? html`<script type="module" src="${assetUrl(assets, input.script)}"></script>`
    : '';
  const who = viewer
    ? html`<div class="viewer"><span class="viewer-name">${viewer.name}</span>${
        viewer.operator ? html`<span class="badge">operator</span>` : ''
      }${
        viewer.csrf
          ? html`<form method="post" action="/logout"><input type="hidden" name="csrf" value="${viewer.csrf}"><button type="submit" class="link-button">Sign out</button></form>`
          : ''
      }</div>`
    : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${input.title} · Patchbay</title>
<link rel="icon" type="image/svg+xml" href="${icon}">
${styles}
${script}
</head>
<body>
<header class="topbar"><a class="brand" href="/tasks"><img src="${icon}" alt="" width="20" height="20">Patchbay</a><nav><a href="/tasks">Tasks</a></nav>${who}</header>
<main class="page">${input.body}</main>
</body>
</html>
`.value;
}
