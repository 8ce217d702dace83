// @ts-check
/*
 * A timeline entry as the task page shows it, built with DOM calls: every string becomes a text node
 * or an attribute value, never markup, because every value was written by the model, the repository
 * or a requester. The elements and classes are the server's (src/server/pages/render-timeline.ts),
 * and a browser test compares the two: change them together.
 */
import {
  formatBytes,
  formatDuration,
  formatOffset,
  formatSize,
  formatTokens,
  formatUsd,
  SOURCE_LABELS,
  STAGE_LABELS,
  STATUS_LABELS,
  safeUrl,
} from './format.js';

/**
 * One timeline entry as the stream delivers it (src/domain/timeline.ts has the exact shapes).
 * @typedef {object} Entry
 * @property {string} type
 * @property {string} at
 * @property {string} [kind]
 * @property {string} [source]
 * @property {string} [requester]
 * @property {string} [text]
 * @property {string} [stage]
 * @property {number} [durationMs]
 * @property {string} [setup]
 * @property {number} [commands]
 * @property {boolean} [cache]
 * @property {number} [turn]
 * @property {string} [model]
 * @property {number} [toolCalls]
 * @property {number} [promptTokens]
 * @property {number} [cachedTokens]
 * @property {number} [completionTokens]
 * @property {number | null} [usd]
 * @property {number} [step]
 * @property {string} [tool]
 * @property {string} [args]
 * @property {string} [detail]
 * @property {string} [output]
 * @property {number} [outputBytes]
 * @property {boolean} [shortened]
 * @property {boolean} [failed]
 * @property {Check[]} [checks]
 * @property {string} [question]
 * @property {{ number: number, url: string }} [pullRequest]
 * @property {boolean} [created]
 * @property {string} [status]
 * @property {string} [summary]
 * @property {{ code: string, message: string, hint?: string }} [error]
 * @property {number} [steps]
 * @property {Usage} [usage]
 * @property {Resources} [resources]
 * @property {string} [reason]
 * @property {number} [contextWindow]
 * @property {number} [tokensBefore]
 * @property {number} [tokensAfter]
 * @property {number} [messages]
 * @property {number} [compactions]
 * @property {string} [from]
 * @property {number} [rerun]
 * @property {boolean} [finished]
 * @property {Array<{ name: string, reason: string, count: number }>} [names]
 * @property {number} [more]
 */
/** @typedef {{ enforcement: string, peakMemoryBytes: number | null, memoryLimitBytes: number, peakDiskBytes: number | null, diskLimitBytes: number, limitHits?: Record<string, number> }} Resources */
/** @typedef {{ command: string, exitCode: number | null, timedOut: boolean, output: string, durationMs: number }} Check */
/** @typedef {{ promptTokens: number, cachedTokens: number, completionTokens: number, usd: number | null, agentMs: number }} Usage */
/** @typedef {Record<string, string | Node | null | undefined | false>} Attrs */

/** @type {Record<string, string>} */
const SETUP_TITLES = {
  prepared: 'Environment: prepared entry, setup skipped',
  maintenance: 'Environment: prepared entry, maintenance ran',
  full: 'Environment: full setup',
  none: 'Environment: no setup configured',
};

/**
 * How the task's environment was made (the server's environmentText).
 * @param {Entry} entry
 */
function environmentText(entry) {
  const n = entry.commands ?? 0;
  const parts = [formatDuration(entry.durationMs ?? 0), `${n} ${n === 1 ? 'command' : 'commands'}`];
  if (entry.cache) parts.push('package cache');
  return { title: SETUP_TITLES[entry.setup ?? ''] ?? 'Environment', meta: parts.join(' · ') };
}

/** @type {Record<string, string>} */
const QUEUED_TITLES = { new: 'Queued', answer: 'Answered, queued again', retry: 'Queued again (retry)' };

/**
 * An element with attributes and children; strings become text nodes, never markup.
 * @param {string} tag
 * @param {Attrs} [attrs]
 * @param {Array<Node | string | null | undefined | false>} children
 * @returns {HTMLElement}
 */
function h(tag, attrs = {}, ...children) {
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
function badge(className, text) {
  return h('span', { class: className ? `badge ${className}` : 'badge' }, text);
}

/**
 * @param {string} id
 * @param {Entry} entry
 * @param {string} createdAt
 * @returns {HTMLElement | null}
 */
export function renderEntry(id, entry, createdAt) {
  const at = h(
    'time',
    { class: 'at', datetime: entry.at, title: entry.at },
    formatOffset(Date.parse(entry.at) - Date.parse(createdAt)),
  );
  /** @param {string} kind @param {Node} body @param {string} [extra] */
  const item = (kind, body, extra = '') =>
    h('li', { class: `entry entry-${kind}${extra}`, 'data-entry-id': id }, at, body);
  /** @param {...(Node | string)} children */
  const body = (...children) => h('div', { class: 'entry-body' }, ...children);
  switch (entry.type) {
    case 'queued': {
      const who = entry.requester ? ` · ${entry.requester}` : '';
      const title = h(
        'p',
        { class: 'entry-title' },
        `${QUEUED_TITLES[entry.kind ?? 'new'] ?? 'Queued'} `,
        h('span', { class: 'meta' }, `${SOURCE_LABELS[entry.source ?? ''] ?? entry.source}${who}`),
      );
      return item(
        'queued',
        entry.kind === 'answer'
          ? body(title, h('p', { class: 'entry-text' }, entry.text ?? ''))
          : body(title),
      );
    }
    case 'stage':
      return h(
        'li',
        { class: 'entry entry-stage', 'data-entry-id': id, 'data-stage': entry.stage ?? '' },
        at,
        body(
          h(
            'p',
            { class: 'entry-title' },
            `${STAGE_LABELS[entry.stage ?? ''] ?? entry.stage} `,
            h('span', { class: 'meta duration' }),
          ),
        ),
      );
    case 'model_turn':
      return item('model', renderModelTurn(entry, body));
    case 'tool_call':
      return item('tool', renderToolCall(entry), entry.failed ? ' failed' : '');
    case 'checks': {
      const checks = entry.checks ?? [];
      const ok = checks.filter((c) => checkOutcome(c) === 'passed').length;
      return item(
        'checks',
        body(
          h('p', { class: 'entry-title' }, `Checks: ${ok} of ${checks.length} passed`),
          renderCheckList(checks),
        ),
        ok === checks.length ? '' : ' failed',
      );
    }
    case 'question':
      return item(
        'question',
        body(
          h('p', { class: 'entry-title' }, 'Asked'),
          h('p', { class: 'entry-text' }, entry.question ?? ''),
        ),
      );
    case 'pull_request': {
      const pr = entry.pullRequest ?? { number: 0, url: '' };
      return item(
        'pr',
        body(
          h(
            'p',
            { class: 'entry-title' },
            `${entry.created ? 'Opened' : 'Updated'} pull request `,
            h('a', { href: safeUrl(pr.url) }, `#${pr.number}`),
          ),
        ),
      );
    }
    case 'outcome':
      return item('outcome', renderOutcome(entry, body), entry.error ? ' failed' : '');
    case 'note':
      return item('note', body(h('p', { class: 'note' }, entry.text ?? '')));
    case 'environment': {
      const { title, meta } = environmentText(entry);
      return item(
        'environment',
        body(h('p', { class: 'entry-title' }, `${title} `, h('span', { class: 'meta' }, meta))),
      );
    }
    case 'compaction':
    case 'resumed':
    case 'network_blocked': {
      const { title, meta } = sideNoteText(entry);
      return item(
        entry.type,
        body(h('p', { class: 'entry-title' }, `${title} `, h('span', { class: 'meta' }, meta))),
      );
    }
    default:
      return null;
  }
}

/** @param {number} n @param {string} one @param {string} many */
const count = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/** @param {Entry} entry */
function sideNoteText(entry) {
  if (entry.type === 'compaction') return compactionText(entry);
  if (entry.type === 'resumed') return resumedText(entry);
  return networkBlockedText(entry);
}

/** Names the proxy refused: each once, how often, and why when it was not for being unlisted. @param {Entry} entry */
function networkBlockedText(entry) {
  const names = (entry.names ?? []).map(
    (n) =>
      `${n.name}${n.count > 1 ? ` ×${n.count}` : ''}${n.reason === 'forbidden_address' ? ' (private address)' : ''}`,
  );
  const more = entry.more ? ` and ${entry.more} more` : '';
  return { title: 'Network requests refused', meta: `${names.join(', ')}${more}` };
}

/** @param {Entry} entry */
function compactionText(entry) {
  const n = entry.messages ?? 0;
  const how =
    entry.kind === 'elide'
      ? `${count(n, 'older tool output', 'older tool outputs')} elided`
      : `${count(n, 'older message', 'older messages')} replaced by a summary`;
  const why = entry.reason === 'limit' ? 'near the window' : 'the model refused the length';
  const tokens = `${formatTokens(entry.tokensBefore ?? 0)} → ${formatTokens(entry.tokensAfter ?? 0)} of ${formatTokens(entry.contextWindow ?? 0)} tokens`;
  return { title: 'Context compacted', meta: [how, why, tokens].join(' · ') };
}

/** @param {Entry} entry */
function resumedText(entry) {
  if (entry.from === 'conversation') {
    return { title: "Continued the conversation's last run", meta: `${entry.messages ?? 0} messages` };
  }
  const parts = [
    `${entry.messages ?? 0} messages`,
    `${count(entry.rerun ?? 0, 'tool call', 'tool calls')} run again`,
  ];
  if (entry.finished) parts.push('it had finished: only what failed after it runs again');
  return { title: 'Continued the interrupted attempt', meta: parts.join(' · ') };
}

/** @param {Entry} entry @param {(...children: Array<Node | string>) => HTMLElement} body */
function renderModelTurn(entry, body) {
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
function renderToolCall(entry) {
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
function checkOutcome(check) {
  if (check.timedOut) return 'timed_out';
  return check.exitCode === 0 ? 'passed' : 'failed';
}

/** @param {Check[]} checks */
function renderCheckList(checks) {
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
function renderOutcome(entry, body) {
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
