/** What the sign-in page shows; the route decides, this only renders. */
export interface LoginView {
  /** "Sign in with GitHub" (GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET are set). */
  github: boolean;
  /** The operator's form (PATCHBAY_API_TOKEN is set). */
  operator: boolean;
  /** Where to go once signed in: a path of Patchbay's own (signed-out.ts `safeNext`). */
  next: string;
  /** The form's CSRF token, bound to this browser's sign-in cookie. */
  csrf: string;
  /** A problem with the last attempt, in plain words. */
  error?: string;
}

/**
 * The sign-in page: plain markup, every value escaped, no inline script or style (the pages' CSP
 * forbids both). Stylesheets come with the pages.
 */
export function renderLoginPage(view: LoginView): string {
  const parts = [
    '<!doctype html>',
    '<html lang="en">',
    '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>Sign in · Patchbay</title>',
    '<link rel="icon" type="image/svg+xml" href="/assets/icon.svg">',
    '<link rel="stylesheet" href="/assets/base.css"><link rel="stylesheet" href="/assets/login.css"></head>',
    '<body><header class="topbar"><a class="brand" href="/tasks"><img src="/assets/icon.svg" alt="" width="20" height="20">Patchbay</a></header>',
    '<main class="login">',
    '<h1>Sign in to Patchbay</h1>',
    '<div class="card">',
  ];
  if (view.error) parts.push(`<p class="error" role="alert">${escapeHtml(view.error)}</p>`);
  if (view.github) {
    const href = `/login/github?${new URLSearchParams({ next: view.next })}`;
    parts.push(`<p><a class="button" href="${escapeHtml(href)}">Sign in with GitHub</a></p>`);
    parts.push('<p class="meta">You see the tasks of repositories you may push to.</p>');
  }
  if (view.github && view.operator) parts.push('<p class="or">or</p>');
  if (view.operator) parts.push(operatorForm(view));
  if (!view.github && !view.operator) {
    parts.push(
      '<p>Sign-in is off. Set <code>GITHUB_CLIENT_ID</code> and <code>GITHUB_CLIENT_SECRET</code> to sign in with GitHub, or <code>PATCHBAY_API_TOKEN</code> for the operator.</p>',
    );
  }
  parts.push('</div></main></body></html>', '');
  return parts.join('\n');
}

function operatorForm(view: LoginView): string {
  return [
    '<form method="post" action="/login" class="operator">',
    `<input type="hidden" name="csrf" value="${escapeHtml(view.csrf)}">`,
    `<input type="hidden" name="next" value="${escapeHtml(view.next)}">`,
    '<label for="token">Operator token (<code>PATCHBAY_API_TOKEN</code>)</label>',
    '<input id="token" name="token" type="password" autocomplete="current-password" required>',
    '<button type="submit" class="button">Sign in as operator</button>',
    '</form>',
  ].join('\n');
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}
