// @ts-check
/*
 * A timeline entry as the task page shows it, built with DOM calls: every string becomes a text node
 * or an attribute value, never markup, because every value was written by the model, the repository
 * or a requester. The elements and classes are the server's (src/server/pages/render-timeline.ts),
 * and a browser test compares the two: change them together.
 */
import {
  formatDuration,
  formatOffset,
  formatTokens,
  SOURCE_LABELS,
  STAGE_LABELS,
  safeUrl,
} from './format.js';
import {
  checkOutcome,
  h,
  renderCheckList,
  renderModelTurn,
  renderOutcome,
  renderToolCall,
} from './timeline-details.js';

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
