/**
 * HTML built from templates that escape every value: `html\`<p>${text}</p>\`` escapes `text`, while
 * a value that is itself `Html` (built by `html` or passed through `trustedHtml`) goes in as it is.
 * Pages are made only this way, so that nothing the model, the repository or a requester wrote can
 * become markup by forgetting to escape it.
 */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function toHtml(value: HtmlValue): string {
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(toHtml).join('');
  if (value === null || value === undefined || value === false || value === true) return '';
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += toHtml(value) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}

/** Markup that was made safe elsewhere (the sanitized Markdown of a summary); nothing else. */
export function trustedHtml(markup: string): Html {
  return new Html(markup);
}

/**
 * A link target that cannot run script: http(s) URLs and Patchbay's own absolute paths pass, anything
 * else (`javascript:`, `data:`, protocol-relative `//host`) becomes `#`. URLs come from webhooks and
 * the model's pull request, so they are not trusted.
 */
export function safeUrl(url: string | undefined): string {
  if (!url) return '#';
  if (url.startsWith('/') && !url.startsWith('//')) return url;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : '#';
  } catch {
    return '#';
  }
}
