// @ts-check
/*
 * The task page, live. It follows the task's timeline through EventSource on the events stream (the
 * browser reconnects by itself and sends Last-Event-ID, so a reconnect picks up where it left off),
 * appends each new entry (timeline-entry.js builds it), and moves the status, the stage, the elapsed
 * time and the budget. Nothing here parses HTML made from the stream's data.
 */
import { compareIds, formatDuration, formatTokens, formatUsd, STATUS_LABELS } from './format.js';
import { setupActions } from './task-actions.js';
import { renderEntry } from './timeline-entry.js';

/** @typedef {import('./timeline-entry.js').Entry} Entry */
/** @typedef {import('./timeline-entry.js').Usage} Usage */

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
const ACTIVE = new Set(['queued', 'running', 'waiting_for_input']);
/** Sections the server renders from the task's record, fetched again when the task ends or opens a PR. */
const REFRESHED = ['outcome', 'changes', 'checks', 'pull-request', 'conversation', 'section-nav', 'stages'];

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
  set('steps', steps, `${steps} of ${box.dataset.budgetSteps}`);
  set('time', usage.agentMs, `${formatDuration(usage.agentMs)} of ${box.dataset.budgetMinutes} min`);
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
  setupActions(state.taskId);
  if (FINAL.has(state.status)) return;
  updateElapsed(state);
  setInterval(() => updateElapsed(state), 1000);
  follow(state);
}

start();
