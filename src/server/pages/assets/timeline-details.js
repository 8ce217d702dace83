// @ts-check
/*
 * The parts of a timeline entry that have a body of their own (a model turn, a tool call with its
 * arguments and output, the checks, the outcome and what the task used), built with DOM calls like
 * the rest of timeline-entry.js: every string becomes a text node or an attribute value.
 */
import { formatBytes, formatDuration, formatSize, formatTokens, formatUsd, STATUS_LABELS } from './format.js';

/** @typedef {import('./timeline-entry.js').Entry} Entry */
/** @typedef {import('./timeline-entry.js').Check} Check */
/** @typedef {import('./timeline-entry.js').Resources} Resources */
/** @typedef {import('./timeline-entry.js').Attrs} Attrs */

/**
 * An element with attributes and children; strings become text nodes, never markup.
 * @param {string} tag
 * @param {Attrs} [attrs]
 * @param {Array<Node | string | null | undefined | false>} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === 'string') el.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

/** @param {string} className @param {string} text */
export function badge(className, text) {
  return h('span', { class: className ? `badge ${className}` : 'badge' }, text);
}
/** @param {Entry} entry @param {(...children: Array<Node | string>) => HTMLElement} body */
export function renderModelTurn(entry, body) {
  const cached = entry.cachedTokens ? ` (${formatTokens(entry.cachedTokens)} cached)` : '';
  const meta = [
    `Model turn ${entry.turn}`,
    entry.model ?? '',
    `${formatTokens(entry.promptTokens ?? 0)} in${cached}`,
    `${formatTokens(entry.completionTokens ?? 0)} out`,
    formatUsd(entry.usd),
    formatDuration(entry.durationMs ?? 0),
  ].join(' · ');
  const text = entry.text?.trim();
  return text
    ? body(h('p', { class: 'entry-meta' }, meta), h('div', { class: 'model-text' }, text))
    : body(h('p', { class: 'entry-meta' }, meta));
}

/** @param {string} tool @param {string} output */
function exitCodeOf(tool, output) {
  if (tool !== 'bash') return null;
  const match = /^exit code: (\d+)$/m.exec(output.split('\n', 3).join('\n'));
  return match ? Number(match[1]) : null;
}

/** @param {Entry} entry */
export function renderToolCall(entry) {
  const tool = entry.tool ?? '';
  const prefix = `${tool}: `;
  const detail = entry.detail ?? '';
  const output = entry.output ?? '';
  const exit = exitCodeOf(tool, output);
  const summary = h(
    'summary',
    {},
    h('span', { class: 'step' }, `#${entry.step}`),
    h('span', { class: 'tool-name' }, tool),
    h('code', { class: 'tool-detail' }, detail.startsWith(prefix) ? detail.slice(prefix.length) : detail),
    entry.failed && badge('bad', 'failed'),
    exit !== null && exit !== 0 && badge('warn', `exit ${exit}`),
    entry.shortened && badge('', 'shortened'),
    h(
      'span',
      { class: 'meta' },
      `${formatDuration(entry.durationMs ?? 0)} · ${formatBytes(entry.outputBytes ?? 0)}`,
    ),
  );
  const shortened =
    entry.shortened &&
    h(
      'p',
      { class: 'note' },
      `Shortened to keep the task's log under its cap; the model saw ${formatBytes(entry.outputBytes ?? 0)}.`,
    );
  const callBody = h(
    'div',
    { class: 'tool-body' },
    h('h4', {}, 'Arguments'),
    renderArgs(entry.args ?? ''),
    h('h4', {}, 'Output'),
    h('pre', { class: 'output' }, output),
    shortened,
  );
  return h('details', { class: 'tool-call' }, summary, callBody);
}

/** @param {string} args */
function renderArgs(args) {
  /** @type {unknown} */
  let parsed;
  try {
    parsed = JSON.parse(args);
  } catch {
    return h('pre', { class: 'args-raw' }, args);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    return h('pre', { class: 'args-raw' }, args);
  const list = h('dl', { class: 'args' });
  for (const [key, value] of Object.entries(parsed)) {
    list.append(
      h('dt', {}, key),
      h('dd', {}, h('pre', {}, typeof value === 'string' ? value : JSON.stringify(value, null, 2))),
    );
  }
  return list;
}

/** @param {Check} check */
export function checkOutcome(check) {
  if (check.timedOut) return 'timed_out';
  return check.exitCode === 0 ? 'passed' : 'failed';
}

/** @param {Check[]} checks */
export function renderCheckList(checks) {
  const list = h('ul', { class: 'checks' });
  for (const check of checks) {
    const outcome = checkOutcome(check);
    const label =
      outcome === 'passed'
        ? 'passed'
        : outcome === 'timed_out'
          ? 'timed out'
          : `failed (exit ${check.exitCode ?? '?'})`;
    const details = h(
      'details',
      { class: `check ${outcome}`, open: outcome === 'passed' ? null : '' },
      h(
        'summary',
        {},
        badge(outcome === 'passed' ? 'ok' : 'bad', label),
        h('code', {}, check.command),
        h('span', { class: 'meta' }, formatDuration(check.durationMs)),
      ),
      h('pre', { class: 'output' }, check.output),
    );
    list.append(h('li', {}, details));
  }
  return list;
}

/** @param {Entry} entry @param {(...children: Array<Node | string>) => HTMLElement} body */
export function renderOutcome(entry, body) {
  const usage = entry.usage ?? { promptTokens: 0, cachedTokens: 0, completionTokens: 0, usd: 0, agentMs: 0 };
  const status = entry.status ?? '';
  const meta = `${entry.steps ?? 0} steps · ${formatTokens(usage.promptTokens + usage.completionTokens)} tokens · ${formatUsd(usage.usd)}`;
  const title = h(
    'p',
    { class: 'entry-title' },
    h('span', { class: `status-pill status-${status}` }, STATUS_LABELS[status] ?? status),
    ' ',
    h('span', { class: 'meta' }, meta),
  );
  const parts = [title];
  if (entry.error)
    parts.push(
      h(
        'div',
        { class: 'error-box' },
        h('p', {}, h('code', {}, entry.error.code), ` ${entry.error.message}`),
        entry.error.hint && h('p', { class: 'hint' }, entry.error.hint),
      ),
    );
  if (entry.resources) parts.push(renderResources(entry.resources));
  return body(...parts);
}

/** @param {Resources} resources */
function renderResources(resources) {
  /** @param {number | null} bytes @param {number} limit */
  const peak = (bytes, limit) =>
    `${bytes === null ? 'unmeasured' : formatSize(bytes)} of ${formatSize(limit)}`;
  const hits = Object.entries(resources.limitHits ?? {}).map(
    ([limit, count]) => `the ${limit} limit stopped ${count} command${count === 1 ? '' : 's'}`,
  );
  const parts = [
    `memory ${peak(resources.peakMemoryBytes, resources.memoryLimitBytes)}`,
    `disk ${peak(resources.peakDiskBytes, resources.diskLimitBytes)}`,
    ...hits,
  ];
  return h(
    'p',
    { class: 'meta resources', title: `enforced by ${resources.enforcement}` },
    parts.join(' · '),
  );
}
