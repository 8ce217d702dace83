// @ts-check
/*
 * The task page, live. It follows the task's timeline through EventSource on the events stream (the
 * browser reconnects by itself and sends Last-Event-ID, so a reconnect picks up where it left off),
 * appends each new entry, and moves the status, the stage, the elapsed time and the budget. Entries
 * are built with DOM calls and textContent, never from HTML strings: every value in them was written
 * by the model, the repository or a requester. The markup matches the server's
 * (src/server/pages/render-timeline.ts); change the two together.
 */

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
 */
/** @typedef {{ command: string, exitCode: number | null, timedOut: boolean, output: string, durationMs: number }} Check */
/** @typedef {{ promptTokens: number, cachedTokens: number, completionTokens: number, usd: number | null, agentMs: number }} Usage */
/** @typedef {Record<string, string | Node | null | undefined | false>} Attrs */

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
const ACTIVE = new Set(['queued', 'running', 'waiting_for_input']);
/** @type {Record<string, string>} */
const STATUS_LABELS = {
  queued: 'Queued',
  running: 'Running',
  waiting_for_input: 'Waiting for input',
  succeeded: 'Succeeded',
  failed: 'Failed',
  cancelled: 'Cancelled',
  retrying: 'Will retry',
  interrupted: 'Interrupted',
};
/** @type {Record<string, string>} */
const STAGE_LABELS = {
  clone: 'Clone',
  setup: 'Setup',
  agent: 'Agent',
  checks: 'Checks',
  pull_request: 'Pull request',
};
/** @type {Record<string, string>} */
const SOURCE_LABELS = { api: 'API', cli: 'CLI', slack: 'Slack', linear: 'Linear', github: 'GitHub' };
/** @type {Record<string, string>} */
const QUEUED_TITLES = { new: 'Queued', answer: 'Answered, queued again', retry: 'Queued again (retry)' };
/** Sections the server renders from the task's record, fetched again when the task ends or opens a PR. */
const REFRESHED = ['outcome', 'changes', 'checks', 'pull-request', 'conversation', 'section-nav', 'stages'];

// ---- formatting (src/server/pages/format.ts writes the same) ----

/** @param {number} ms */
function formatDuration(ms) {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  const total = Math.floor(ms / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  if (hours === 0) return `${minutes}m ${String(seconds).padStart(2, '0')}s`;
  return `${hours}h ${String(minutes).padStart(2, '0')}m`;
}

/** @param {number} count */
function formatTokens(count) {
  if (count < 1000) return String(count);
  if (count < 1000000) return `${(count / 1000).toFixed(1)}k`;
  return `${(count / 1000000).toFixed(2)}M`;
}

/** @param {number | null | undefined} usd */
function formatUsd(usd) {
  if (usd === null || usd === undefined) return '—';
  if (usd === 0) return '$0';
  if (usd < 0.01) return '<$0.01';
  return `$${usd.toFixed(2)}`;
}

/** @param {number} bytes */
function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1048576) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1048576).toFixed(1)} MB`;
}

/** @param {number} ms */
function formatOffset(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `+${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `+${minutes}:${seconds}`;
}

/** @param {string | undefined} url */
function safeUrl(url) {
  if (!url) return '#';
  if (url.startsWith('/') && !url.startsWith('//')) return url;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : '#';
  } catch {
    return '#';
  }
}

/**
 * Entry ids increase: Redis Stream ids (`1712345678901-0`) or plain numbers.
 * @param {string} a
 * @param {string} b
 */
function compareIds(a, b) {
  const [a1 = 0, a2 = 0] = a.split('-').map(Number);
  const [b1 = 0, b2 = 0] = b.split('-').map(Number);
  return a1 - b1 || a2 - b2;
}

// ---- building elements ----

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
function renderEntry(id, entry, createdAt) {
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
    default:
      return null;
  }
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
  if (!entry.error) return body(title);
  const error = h(
    'div',
    { class: 'error-box' },
    h('p', {}, h('code', {}, entry.error.code), ` ${entry.error.message}`),
    entry.error.hint && h('p', { class: 'hint' }, entry.error.hint),
  );
  return body(title, error);
}

// ---- the page's state ----

/**
 * @typedef {object} PageState
 * @property {HTMLElement} root
 * @property {string} taskId
 * @property {string} status
 * @property {string} createdAt
 * @property {string} finishedAt
 * @property {number} skewMs the server's clock minus this one's
 * @property {string} lastId
 * @property {number} steps
 * @property {Usage} usage
 * @property {EventSource | null} source
 */

/** @param {string} id */
function byId(id) {
  return document.getElementById(id);
}

/** @param {PageState} state @param {string} status */
function setStatus(state, status) {
  state.status = status;
  state.root.dataset.status = status;
  const pill = byId('task-status');
  if (pill) {
    pill.className = `status-pill status-${status}`;
    pill.textContent = STATUS_LABELS[status] ?? status;
  }
  const mayAct = state.root.dataset.mayAct === 'true';
  const stop = byId('stop');
  const retry = byId('retry');
  if (stop) stop.hidden = !(mayAct && ACTIVE.has(status));
  if (retry)
    retry.hidden = !(
      mayAct &&
      (status === 'failed' || status === 'cancelled') &&
      !state.root.dataset.retriedBy
    );
}

/** @param {string} stage @param {'current' | 'done'} to */
function setStage(stage, to) {
  for (const li of document.querySelectorAll('#stages .stage')) {
    if (!(li instanceof HTMLElement)) continue;
    if (to === 'current' && li.classList.contains('current')) li.classList.replace('current', 'done');
    if (li.dataset.stage !== stage) continue;
    li.classList.remove('pending', 'current', 'done', 'failed');
    li.classList.add(to);
    if (to === 'current') li.setAttribute('aria-current', 'step');
    else li.removeAttribute('aria-current');
  }
}

/** @param {PageState} state */
function updateBudget(state) {
  const box = byId('budget-meters');
  if (!box) return;
  const { usage, steps } = state;
  /** @param {string} name @param {number} value @param {string} text */
  const set = (name, value, text) => {
    const row = box.querySelector(`[data-meter="${name}"]`);
    const meter = row?.querySelector('meter');
    if (meter instanceof HTMLMeterElement) meter.value = Math.min(value, meter.max);
    const label = row?.querySelector('.meter-value');
    if (label) label.textContent = text;
  };
  const budgetMs = Number(box.dataset.budgetMs);
  set('steps', steps, `${steps} of ${box.dataset.budgetSteps}`);
  set('time', usage.agentMs, `${formatDuration(usage.agentMs)} of ${formatDuration(budgetMs)}`);
  const budgetUsd = box.dataset.budgetUsd ? Number(box.dataset.budgetUsd) : null;
  set(
    'usd',
    usage.usd ?? 0,
    budgetUsd === null ? formatUsd(usage.usd) : `${formatUsd(usage.usd)} of ${formatUsd(budgetUsd)}`,
  );
  updateTokens(box, usage);
}

/** @param {HTMLElement} box @param {Usage} usage */
function updateTokens(box, usage) {
  const total = usage.promptTokens + usage.completionTokens;
  const fresh = Math.max(0, usage.promptTokens - usage.cachedTokens);
  /** @param {number} n */
  const width = (n) => (total === 0 ? 0 : Math.round((n / total) * 1000) / 10);
  const row = box.querySelector('[data-meter="tokens"]');
  if (!row) return;
  const label = row.querySelector('.meter-value');
  if (label) label.textContent = formatTokens(total);
  const parts = [
    ['cached', usage.cachedTokens],
    ['input', fresh],
    ['output', usage.completionTokens],
  ];
  let x = 0;
  for (const [name, count] of /** @type {Array<[string, number]>} */ (parts)) {
    const rect = row.querySelector(`rect.tok-${name}`);
    rect?.setAttribute('x', String(x));
    rect?.setAttribute('width', String(width(count)));
    x += width(count);
    const text = row.querySelector(`[data-tokens="${name}"]`);
    if (text) text.textContent = formatTokens(count);
  }
}

/** @param {PageState} state */
function updateElapsed(state) {
  const el = byId('elapsed');
  if (!el) return;
  const end = state.finishedAt ? Date.parse(state.finishedAt) : Date.now() + state.skewMs;
  el.textContent = formatDuration(Math.max(0, end - Date.parse(state.createdAt)));
}

/**
 * Applies one entry: appends it and moves whatever it changes.
 * @param {PageState} state
 * @param {string} id
 * @param {Entry} entry
 */
function applyEntry(state, id, entry) {
  const timeline = byId('timeline');
  const el = renderEntry(id, entry, state.createdAt);
  if (timeline && el) {
    timeline.append(el);
    byId('timeline-empty')?.remove();
  }
  if (timeline) timeline.dataset.lastId = id;
  switch (entry.type) {
    case 'queued':
      setStatus(state, 'queued');
      break;
    case 'stage':
      setStatus(state, 'running');
      setStage(entry.stage ?? '', 'current');
      break;
    case 'stage_ended':
      finishStage(entry);
      break;
    case 'model_turn':
      addModelTurn(state, entry);
      break;
    case 'tool_call':
      addToolCall(state, entry);
      break;
    case 'question':
      setStatus(state, 'waiting_for_input');
      break;
    case 'pull_request':
      void refreshSections(state);
      break;
    case 'outcome':
      applyOutcome(state, entry);
      break;
  }
}

/** @param {Entry} entry */
function finishStage(entry) {
  const stages = document.querySelectorAll(`#timeline .entry-stage[data-stage="${entry.stage}"] .duration`);
  const last = stages[stages.length - 1];
  if (last) last.textContent = formatDuration(entry.durationMs ?? 0);
  setStage(entry.stage ?? '', 'done');
}

/** @param {PageState} state @param {Entry} entry */
function addModelTurn(state, entry) {
  state.usage.promptTokens += entry.promptTokens ?? 0;
  state.usage.cachedTokens += entry.cachedTokens ?? 0;
  state.usage.completionTokens += entry.completionTokens ?? 0;
  if (entry.usd === null) state.usage.usd = null;
  else if (state.usage.usd !== null) state.usage.usd += entry.usd ?? 0;
  state.usage.agentMs += entry.durationMs ?? 0;
  updateBudget(state);
}

/** @param {PageState} state @param {Entry} entry */
function addToolCall(state, entry) {
  state.steps = Math.max(state.steps, entry.step ?? 0);
  state.usage.agentMs += entry.durationMs ?? 0;
  updateBudget(state);
  const count = byId('calls-count');
  if (count) count.textContent = String(Number(count.textContent) + 1);
}

/** @param {PageState} state @param {Entry} entry */
function applyOutcome(state, entry) {
  if (entry.usage) state.usage = { ...entry.usage };
  if (typeof entry.steps === 'number') state.steps = entry.steps;
  updateBudget(state);
  const status = entry.status ?? '';
  // An attempt that will be retried, or was interrupted, goes back to the queue.
  setStatus(state, status === 'retrying' || status === 'interrupted' ? 'queued' : status);
  if (!FINAL.has(status)) return;
  state.finishedAt = entry.at;
  state.root.dataset.finishedAt = entry.at;
  updateElapsed(state);
  state.source?.close();
  state.source = null;
  setLive('done');
  void refreshSections(state);
}

/**
 * Fetches the page again and swaps in the sections the server renders from the task's record (summary,
 * diff, checks, pull request): the server escaped and sanitized them, and DOMParser runs no script.
 * @param {PageState} state
 */
async function refreshSections(state) {
  try {
    const res = await fetch(`/tasks/${encodeURIComponent(state.taskId)}`, { credentials: 'same-origin' });
    if (!res.ok) return;
    const fresh = new DOMParser().parseFromString(await res.text(), 'text/html');
    for (const id of REFRESHED) {
      const next = fresh.getElementById(id);
      const current = byId(id);
      if (next && current) current.replaceWith(document.importNode(next, true));
    }
    document.dispatchEvent(new CustomEvent('patchbay:refreshed'));
  } catch {
    // The live entries are there already; the sections catch up on the next load.
  }
}

/** @param {'connecting' | 'live' | 'reconnecting' | 'closed' | 'done'} to */
function setLive(to) {
  const live = byId('live');
  if (!live) return;
  live.dataset.state = to;
  /** @type {Record<string, string>} */
  const words = {
    connecting: 'connecting…',
    live: 'live',
    reconnecting: 'reconnecting…',
    closed: 'not live: reload to catch up',
    done: '',
  };
  live.textContent = words[to] ?? '';
}

/** @param {PageState} state */
function follow(state) {
  const url = state.root.dataset.eventsUrl;
  if (!url) return;
  const source = new EventSource(url);
  state.source = source;
  setLive('connecting');
  source.addEventListener('open', () => setLive('live'));
  source.addEventListener('error', () =>
    setLive(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting'),
  );
  source.addEventListener('message', (event) => {
    /** @type {{ id?: unknown, entry?: Entry } | null} */
    let data = null;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    if (!data || typeof data.id !== 'string' || !data.entry || typeof data.entry.type !== 'string') return;
    // The stream replays from the start on the first connection: what the server rendered is skipped.
    if (state.lastId && compareIds(data.id, state.lastId) <= 0) return;
    state.lastId = data.id;
    applyEntry(state, data.id, data.entry);
    document.dispatchEvent(new CustomEvent('patchbay:entry', { detail: { id: data.id } }));
  });
}

// ---- Stop and Retry ----

/**
 * @param {string} url
 * @returns {Promise<{ ok: boolean, status: number, body: any }>}
 */
async function postJson(url) {
  const res = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: '{}',
  });
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  return { ok: res.ok, status: res.status, body };
}

/** @param {{ status: number, body: any }} answer */
function describeFailure(answer) {
  const message = answer.body?.error?.message;
  return typeof message === 'string' ? message : `the server answered ${answer.status}`;
}

/** @param {PageState} state */
function setupActions(state) {
  const result = byId('action-result');
  const stop = byId('stop');
  const retry = byId('retry');
  /** @param {string} text @param {'ok' | 'bad' | ''} tone */
  const say = (text, tone) => {
    if (!result) return;
    result.textContent = text;
    result.dataset.tone = tone;
  };
  const base = `/api/tasks/${encodeURIComponent(state.taskId)}`;
  stop?.addEventListener('click', async () => {
    if (!(stop instanceof HTMLButtonElement)) return;
    stop.disabled = true;
    say('Stopping…', '');
    try {
      const answer = await postJson(`${base}/cancel`);
      if (answer.ok) say('Stop requested: the task stops at its next step.', 'ok');
      else say(`Could not stop: ${describeFailure(answer)}.`, 'bad');
    } catch {
      say('Could not stop: Patchbay did not answer.', 'bad');
    }
    stop.disabled = false;
  });
  retry?.addEventListener('click', async () => {
    if (!(retry instanceof HTMLButtonElement)) return;
    retry.disabled = true;
    say('Starting a new task…', '');
    try {
      const answer = await postJson(`${base}/retry`);
      const id = answer.body?.id;
      if (answer.ok && typeof id === 'string') {
        say(`Retrying as ${id}…`, 'ok');
        window.location.assign(`/tasks/${encodeURIComponent(id)}`);
        return;
      }
      say(`Could not retry: ${describeFailure(answer)}.`, 'bad');
    } catch {
      say('Could not retry: Patchbay did not answer.', 'bad');
    }
    retry.disabled = false;
  });
}

function start() {
  const root = byId('task');
  if (!root) return;
  const d = root.dataset;
  /** @type {PageState} */
  const state = {
    root,
    taskId: d.taskId ?? '',
    status: d.status ?? '',
    createdAt: d.createdAt ?? '',
    finishedAt: d.finishedAt ?? '',
    skewMs: d.now ? Date.parse(d.now) - Date.now() : 0,
    lastId: byId('timeline')?.dataset.lastId ?? '',
    steps: Number(d.steps ?? 0),
    usage: JSON.parse(d.usage ?? '{}'),
    source: null,
  };
  setupActions(state);
  if (FINAL.has(state.status)) return;
  updateElapsed(state);
  setInterval(() => updateElapsed(state), 1000);
  follow(state);
}

start();
