import type { CheckResult, TaskResources } from '../../domain/task.js';
import { checkOutcome } from '../../domain/task.js';
import type { StoredTimelineEntry, TimelineEntry, TimelineStage } from '../../domain/timeline.js';
import { formatBytes as formatSize } from '../../lib/format-bytes.js';
import { formatBytes, formatDuration, formatOffset, formatTokens, formatUsd, since } from './format.js';
import { type Html, html, safeUrl } from './html.js';
import { SOURCE_LABELS, STAGE_LABELS, STATUS_LABELS } from './labels.js';

/*
 * The timeline as the server renders it when the page opens. The page's script renders the entries
 * that arrive later (assets/task-page.js, `renderEntry`) into the same elements with the same classes,
 * and a browser test compares the two: change them together.
 */

type Entry<T extends TimelineEntry['type']> = Extract<TimelineEntry, { type: T }>;

export function renderTimeline(entries: readonly StoredTimelineEntry[], createdAt: string): Html {
  const durations = stageDurations(entries);
  const lastId = entries.at(-1)?.id ?? '';
  const items = entries.flatMap((stored) => {
    if (stored.entry.type === 'stage_ended') return [];
    return [renderEntry(stored, createdAt, durations.get(stored.id))];
  });
  // A long timeline lets the browser skip laying out what is off screen (timeline.css); a short one
  // is laid out whole, so that it prints and captures as it reads.
  const long = items.length > LONG_TIMELINE ? ' long' : '';
  return html`<ol class="timeline${long}" id="timeline" data-last-id="${lastId}">${items}</ol>`;
}

/** Entries past which a timeline is laid out lazily. */
const LONG_TIMELINE = 150;

/** The duration of each `stage` entry, from the `stage_ended` of the same stage that follows it. */
function stageDurations(entries: readonly StoredTimelineEntry[]): Map<string, number> {
  const open = new Map<TimelineStage, string>();
  const durations = new Map<string, number>();
  for (const { id, entry } of entries) {
    if (entry.type === 'stage') open.set(entry.stage, id);
    if (entry.type === 'stage_ended') {
      const started = open.get(entry.stage);
      if (started !== undefined) durations.set(started, entry.durationMs);
      open.delete(entry.stage);
    }
  }
  return durations;
}

function renderEntry(stored: StoredTimelineEntry, createdAt: string, stageMs: number | undefined): Html {
  const { id, entry } = stored;
  const at = html`<time class="at" datetime="${entry.at}" title="${entry.at}">${formatOffset(since(createdAt, entry.at))}</time>`;
  const item = (kind: string, body: Html, extra = '') =>
    html`<li class="entry entry-${kind}${extra}" data-entry-id="${id}">${at}${body}</li>`;
  switch (entry.type) {
    case 'queued':
      return item('queued', renderQueued(entry));
    case 'stage':
      return html`<li class="entry entry-stage" data-entry-id="${id}" data-stage="${entry.stage}">${at}<div class="entry-body"><p class="entry-title">${STAGE_LABELS[entry.stage]} <span class="meta duration">${stageMs === undefined ? '' : formatDuration(stageMs)}</span></p></div></li>`;
    case 'model_turn':
      return item('model', renderModelTurn(entry));
    case 'tool_call':
      return item('tool', renderToolCall(entry), entry.failed ? ' failed' : '');
    case 'checks':
      return item('checks', renderChecksEntry(entry.checks), entry.checks.every(passed) ? '' : ' failed');
    case 'question':
      return item(
        'question',
        html`<div class="entry-body"><p class="entry-title">Asked</p><p class="entry-text">${entry.question}</p></div>`,
      );
    case 'pull_request':
      return item(
        'pr',
        html`<div class="entry-body"><p class="entry-title">${entry.created ? 'Opened' : 'Updated'} pull request <a href="${safeUrl(entry.pullRequest.url)}">#${entry.pullRequest.number}</a></p></div>`,
      );
    case 'outcome':
      return item('outcome', renderOutcome(entry), entry.error ? ' failed' : '');
    case 'note':
      return item('note', html`<div class="entry-body"><p class="note">${entry.text}</p></div>`);
    case 'environment': {
      const { title, meta } = environmentText(entry);
      return item(
        'environment',
        html`<div class="entry-body"><p class="entry-title">${title} <span class="meta">${meta}</span></p></div>`,
      );
    }
    case 'compaction':
    case 'resumed':
    case 'network_blocked': {
      const { title, meta } = sideNoteText(entry);
      return item(
        entry.type,
        html`<div class="entry-body"><p class="entry-title">${title} <span class="meta">${meta}</span></p></div>`,
      );
    }
    default:
      return html``;
  }
}

const SETUP_TITLES: Record<Entry<'environment'>['setup'], string> = {
  prepared: 'Environment: prepared entry, setup skipped',
  maintenance: 'Environment: prepared entry, maintenance ran',
  full: 'Environment: full setup',
  none: 'Environment: no setup configured',
};

/** How the task's environment was made: from a prepared entry, by maintenance, by setup, or not at all. */
function environmentText(entry: Entry<'environment'>): { title: string; meta: string } {
  const n = entry.commands;
  const parts = [formatDuration(entry.durationMs), `${n} ${n === 1 ? 'command' : 'commands'}`];
  if (entry.cache) parts.push('package cache');
  return { title: SETUP_TITLES[entry.setup], meta: parts.join(' · ') };
}

function sideNoteText(entry: Entry<'compaction' | 'resumed' | 'network_blocked'>): {
  title: string;
  meta: string;
} {
  if (entry.type === 'compaction') return compactionText(entry);
  if (entry.type === 'resumed') return resumedText(entry);
  return networkBlockedText(entry);
}

/** Names the proxy refused: each once, how often, and why when it was not for being unlisted. */
function networkBlockedText(entry: Entry<'network_blocked'>): { title: string; meta: string } {
  const names = entry.names.map(
    (n) =>
      `${n.name}${n.count > 1 ? ` ×${n.count}` : ''}${n.reason === 'forbidden_address' ? ' (private address)' : ''}`,
  );
  const more = entry.more ? ` and ${entry.more} more` : '';
  return { title: 'Network requests refused', meta: `${names.join(', ')}${more}` };
}

/** The agent made room in its context window: how, why, and from how many tokens to how many. */
function compactionText(entry: Entry<'compaction'>): { title: string; meta: string } {
  const how =
    entry.kind === 'elide'
      ? `${entry.messages} older tool ${entry.messages === 1 ? 'output' : 'outputs'} elided`
      : `${entry.messages} older ${entry.messages === 1 ? 'message' : 'messages'} replaced by a summary`;
  const why = entry.reason === 'limit' ? 'near the window' : 'the model refused the length';
  const tokens = `${formatTokens(entry.tokensBefore)} → ${formatTokens(entry.tokensAfter)} of ${formatTokens(entry.contextWindow)} tokens`;
  return { title: 'Context compacted', meta: [how, why, tokens].join(' · ') };
}

/** An attempt that continued earlier work: whose, and what of it runs again. */
function resumedText(entry: Entry<'resumed'>): { title: string; meta: string } {
  if (entry.from === 'conversation') {
    return { title: "Continued the conversation's last run", meta: `${entry.messages} messages` };
  }
  const rerun = `${entry.rerun} tool ${entry.rerun === 1 ? 'call' : 'calls'} run again`;
  const parts = [`${entry.messages} messages`, rerun];
  if (entry.finished) parts.push('it had finished: only what failed after it runs again');
  return { title: 'Continued the interrupted attempt', meta: parts.join(' · ') };
}

const QUEUED_TITLES: Record<Entry<'queued'>['kind'], string> = {
  new: 'Queued',
  answer: 'Answered, queued again',
  retry: 'Queued again (retry)',
};

function renderQueued(entry: Entry<'queued'>): Html {
  const who = entry.requester ? ` · ${entry.requester}` : '';
  // A new task's text is the instruction, shown at the top of the page already.
  const text = entry.kind === 'answer' ? html`<p class="entry-text">${entry.text}</p>` : '';
  return html`<div class="entry-body"><p class="entry-title">${QUEUED_TITLES[entry.kind]} <span class="meta">${SOURCE_LABELS[entry.source]}${who}</span></p>${text}</div>`;
}

function renderModelTurn(entry: Entry<'model_turn'>): Html {
  const cached = entry.cachedTokens > 0 ? ` (${formatTokens(entry.cachedTokens)} cached)` : '';
  const meta = [
    `Model turn ${entry.turn}`,
    entry.model,
    `${formatTokens(entry.promptTokens)} in${cached}`,
    `${formatTokens(entry.completionTokens)} out`,
    formatUsd(entry.usd),
    formatDuration(entry.durationMs),
  ].join(' · ');
  const text = entry.text?.trim() ? html`<div class="model-text">${entry.text.trim()}</div>` : '';
  return html`<div class="entry-body"><p class="entry-meta">${meta}</p>${text}</div>`;
}

/** `exit code: 1` on one of the first lines of a bash result (agent/tools/bash.ts writes it so). */
export function exitCodeOf(tool: string, output: string): number | null {
  if (tool !== 'bash') return null;
  const match = /^exit code: (\d+)$/m.exec(output.split('\n', 3).join('\n'));
  return match ? Number(match[1]) : null;
}

function renderToolCall(entry: Entry<'tool_call'>): Html {
  const prefix = `${entry.tool}: `;
  const detail = entry.detail.startsWith(prefix) ? entry.detail.slice(prefix.length) : entry.detail;
  const exit = exitCodeOf(entry.tool, entry.output);
  const badges = [
    entry.failed ? html`<span class="badge bad">failed</span>` : '',
    exit !== null && exit !== 0 ? html`<span class="badge warn">exit ${exit}</span>` : '',
    entry.shortened ? html`<span class="badge">shortened</span>` : '',
  ];
  const shortened = entry.shortened
    ? html`<p class="note">Shortened to keep the task's log under its cap; the model saw ${formatBytes(entry.outputBytes)}.</p>`
    : '';
  return html`<details class="tool-call"><summary><span class="step">#${entry.step}</span><span class="tool-name">${entry.tool}</span><code class="tool-detail">${detail}</code>${badges}<span class="meta">${formatDuration(entry.durationMs)} · ${formatBytes(entry.outputBytes)}</span></summary><div class="tool-body"><h4>Arguments</h4>${renderArgs(entry.args)}<h4>Output</h4><pre class="output">${entry.output}</pre>${shortened}</div></details>`;
}

/** A tool call's JSON arguments, one block per argument so that a file's content reads as a file. */
function renderArgs(args: string): Html {
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    return html`<pre class="args-raw">${args}</pre>`;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return html`<pre class="args-raw">${args}</pre>`;
  }
  const rows = Object.entries(parsed).map(
    ([key, value]) =>
      html`<dt>${key}</dt><dd><pre>${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}</pre></dd>`,
  );
  return html`<dl class="args">${rows}</dl>`;
}

function passed(check: CheckResult): boolean {
  return checkOutcome(check) === 'passed';
}

function renderChecksEntry(checks: readonly CheckResult[]): Html {
  const ok = checks.filter(passed).length;
  return html`<div class="entry-body"><p class="entry-title">Checks: ${ok} of ${checks.length} passed</p>${renderCheckList(checks)}</div>`;
}

/** Each check with its outcome; a failed one opens on its output. */
export function renderCheckList(checks: readonly CheckResult[]): Html {
  return html`<ul class="checks">${checks.map((check) => {
    const outcome = checkOutcome(check);
    const label =
      outcome === 'passed'
        ? 'passed'
        : outcome === 'timed_out'
          ? 'timed out'
          : `failed (exit ${check.exitCode ?? '?'})`;
    return html`<li><details class="check ${outcome}"${outcome === 'passed' ? '' : html` open`}><summary><span class="badge ${outcome === 'passed' ? 'ok' : 'bad'}">${label}</span><code>${check.command}</code><span class="meta">${formatDuration(check.durationMs)}</span></summary><pre class="output">${check.output}</pre></details></li>`;
  })}</ul>`;
}

function renderOutcome(entry: Entry<'outcome'>): Html {
  const usage = entry.usage;
  const meta = `${entry.steps} steps · ${formatTokens(usage.promptTokens + usage.completionTokens)} tokens · ${formatUsd(usage.usd)}`;
  const error = entry.error
    ? html`<div class="error-box"><p><code>${entry.error.code}</code> ${entry.error.message}</p>${
        entry.error.hint ? html`<p class="hint">${entry.error.hint}</p>` : ''
      }</div>`
    : '';
  return html`<div class="entry-body"><p class="entry-title"><span class="status-pill status-${entry.status}">${STATUS_LABELS[entry.status]}</span> <span class="meta">${meta}</span></p>${error}${
    entry.resources ? renderResources(entry.resources) : ''
  }</div>`;
}

/** Peak memory and disk against the task's limits, and the commands a limit stopped. */
function renderResources(resources: TaskResources): Html {
  const peak = (bytes: number | null, limit: number) =>
    `${bytes === null ? 'unmeasured' : formatSize(bytes)} of ${formatSize(limit)}`;
  const hits = Object.entries(resources.limitHits).map(
    ([limit, count]) => `the ${limit} limit stopped ${count} command${count === 1 ? '' : 's'}`,
  );
  const parts = [
    `memory ${peak(resources.peakMemoryBytes, resources.memoryLimitBytes)}`,
    `disk ${peak(resources.peakDiskBytes, resources.diskLimitBytes)}`,
    ...hits,
  ];
  return html`<p class="meta resources" title="enforced by ${resources.enforcement}">${parts.join(' · ')}</p>`;
}
