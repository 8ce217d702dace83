import { createHash } from 'node:crypto';
import type { PullRequestDraft } from '../../domain/ports.js';
import { type CheckResult, checkOutcome, type TaskResources } from '../../domain/task.js';
import type { Origin } from '../../domain/task-request.js';
import type { StageTimes } from '../../domain/timeline.js';
import { formatBytes } from '../../lib/format-bytes.js';

/** The start of the hidden marker that makes a pull request Patchbay's (with its branch and author). */
export const PR_MARKER_PREFIX = '<!-- patchbay:task=';

/** GitHub rejects bodies over 65,536 characters; the margin covers its own counting. */
export const MAX_BODY_CHARS = 60_000;
const MAX_SUMMARY_CHARS = 30_000;
const MAX_OUTPUT_CHARS = 4_000;
const MAX_OUTPUT_LINES = 60;
/** Below this, an output tail says too little to be worth its <details>. */
const MIN_OUTPUT_CHARS = 200;
const MAX_CHECK_ROWS = 50;
const MAX_COMMAND_CHARS = 200;

const SAFE_ID = /^[A-Za-z0-9._:/@+=-]{1,200}$/;
const MARKER = /<!-- patchbay:task=([A-Za-z0-9._:/@+=-]+) conversation=([A-Za-z0-9._:/@+=-]+) -->/g;

/** What the body shows of a task's pull request draft (the rest goes in the API call). */
export type PullRequestBodyInput = Omit<PullRequestDraft, 'repo' | 'branch' | 'base' | 'title' | 'draft'> & {
  /** The task's page on Patchbay, linked from the footer. */
  pageUrl?: string;
};

/**
 * The id as it appears in the marker: itself when it is made of safe characters, else
 * `sha256-<hex>` of it, so that no id can close the HTML comment or smuggle text into the body.
 * Compare a parsed marker's `conversation` against this, not against the raw id.
 */
export function toMarkerId(id: string): string {
  if (SAFE_ID.test(id)) return id;
  return `sha256-${createHash('sha256').update(id).digest('hex').slice(0, 32)}`;
}

/** The hidden marker line for a task and its conversation. */
export function renderPullRequestMarker(taskId: string, conversation: string): string {
  return `${PR_MARKER_PREFIX}${toMarkerId(taskId)} conversation=${toMarkerId(conversation)} -->`;
}

/**
 * Parses the marker back out of a PR body: the last well-formed one wins, since Patchbay writes its
 * marker at the very end and neutralises any `<!--` in the text above it.
 */
export function parsePullRequestMarker(body: string): { taskId: string; conversation: string } | null {
  let found: { taskId: string; conversation: string } | null = null;
  for (const match of body.matchAll(MARKER)) {
    const [, taskId, conversation] = match;
    if (taskId && conversation) found = { taskId, conversation };
  }
  return found;
}

/**
 * Markdown body of a Patchbay pull request: the agent's summary (markdown kept, but it cannot forge a
 * marker, open an HTML comment or @-mention anyone), where the request came from, a table of check
 * results with each output's tail collapsed, a footer with steps, tokens, cost and duration, and the
 * hidden marker. Always under {@link MAX_BODY_CHARS}.
 */
export function renderPullRequestBody(input: PullRequestBodyInput): string {
  const fixed = [
    renderOrigin(input.origin),
    renderCheckTable(input.checks),
    renderBlockedNames(input.blockedNames ?? []),
  ].filter((part) => part.length > 0);
  const tail = [renderFooter(input), renderPullRequestMarker(input.taskId, input.conversation)];
  const separators = 2 * 8;
  let budget = MAX_BODY_CHARS - [...fixed, ...tail].join('').length - separators;

  const summary = truncate(
    neutralise(input.summary.trim()) || '_No summary._',
    Math.min(MAX_SUMMARY_CHARS, budget),
  );
  budget -= summary.length;
  const details = renderCheckDetails(input.checks, budget);

  const body = [summary, ...fixed, details, ...tail].filter((part) => part.length > 0).join('\n\n');
  // The budget above holds by construction; this is the backstop that keeps GitHub from refusing it.
  if (body.length <= MAX_BODY_CHARS) return body;
  return [truncate(summary, MAX_SUMMARY_CHARS / 4), ...fixed, ...tail].join('\n\n').slice(-MAX_BODY_CHARS);
}

/** At most this many refused names in the body; the rest are counted. */
export const MAX_BLOCKED_NAMES_SHOWN = 20;
const MAX_NAME_CHARS = 253;

/**
 * The names the network allowlist refused, each as code, so that a person can add one to the
 * repository's `domains`. Empty when none was refused.
 */
export function renderBlockedNames(names: readonly string[]): string {
  if (names.length === 0) return '';
  const shown = names.slice(0, MAX_BLOCKED_NAMES_SHOWN).map((name) => codeSpan(name, MAX_NAME_CHARS));
  const rest = names.length - shown.length;
  const list = rest > 0 ? `${shown.join(', ')} and ${rest} more` : shown.join(', ');
  return [
    '### Network',
    '',
    `Refused to the agent's commands by the network allowlist: ${list}. To allow a name, add it to this repository's \`domains\` in \`patchbay.yml\`.`,
  ].join('\n');
}

function renderOrigin(origin: Origin): string {
  const label = inlineText(origin.label, 200) || origin.source;
  const where = isHttpUrl(origin.url) ? `[${label}](${origin.url})` : label;
  const who = origin.requester ? ` by ${inlineText(origin.requester, 100)}` : '';
  return `${originLead(origin)} ${where}${who}`;
}

/** Who started the work: a person somewhere, or Patchbay itself (a schedule, a webhook, its autofix). */
function originLead(origin: Origin): string {
  if (origin.automation === 'autofix') return '**Started by Patchbay** to fix failing checks:';
  if (origin.source === 'schedule') return '**Started on a schedule:**';
  if (origin.source === 'hook') return '**Started by a webhook:**';
  return '**Requested from**';
}

function renderCheckTable(checks: CheckResult[]): string {
  if (checks.length === 0) return '### Checks\n\nNo check commands are configured for this repository.';
  const rows = checks
    .slice(0, MAX_CHECK_ROWS)
    .map(
      (c) =>
        `| ${codeSpan(c.command, MAX_COMMAND_CHARS)} | ${describeResult(c)} | ${formatDuration(c.durationMs)} |`,
    );
  const more =
    checks.length > MAX_CHECK_ROWS ? `\n\n…and ${checks.length - MAX_CHECK_ROWS} more checks.` : '';
  return (
    ['### Checks', '', '| Command | Result | Duration |', '| --- | --- | --- |', ...rows].join('\n') + more
  );
}

function describeResult(check: CheckResult): string {
  // The sentence is ours (fixed text and numbers), never command output.
  if (check.limit) return `❌ ${check.limit.message}`;
  const outcome = checkOutcome(check);
  if (outcome === 'timed_out') return '⏱ timed out';
  if (outcome === 'passed') return '✅ passed';
  return check.exitCode === null ? '❌ failed (killed)' : `❌ failed (exit ${check.exitCode})`;
}

/** One collapsed output tail per check, each shrunk so that all of them fit the budget left. */
function renderCheckDetails(checks: CheckResult[], budget: number): string {
  const shown = checks.slice(0, MAX_CHECK_ROWS).filter((c) => c.output.trim().length > 0);
  if (shown.length === 0) return '';
  const overhead = 120 + MAX_COMMAND_CHARS;
  const perCheck = Math.min(MAX_OUTPUT_CHARS, Math.floor(budget / shown.length) - overhead);
  if (perCheck < MIN_OUTPUT_CHARS)
    return '_Check output left out: it would not fit in the pull request body._';
  return shown.map((c) => renderOneDetail(c, perCheck)).join('\n\n');
}

function renderOneDetail(check: CheckResult, maxChars: number): string {
  const { text, cut } = tailOf(check.output, maxChars);
  const fence = '`'.repeat(Math.max(3, longestRun(text, '`') + 1));
  const note = cut ? ' (last lines)' : '';
  return [
    `<details><summary>Output of <code>${htmlText(check.command, MAX_COMMAND_CHARS)}</code>${note}</summary>`,
    '',
    `${fence}text`,
    text,
    fence,
    '',
    '</details>',
  ].join('\n');
}

/** The last lines of output, at most `maxChars` once neutralised; inside a code block mentions are inert. */
function tailOf(output: string, maxChars: number): { text: string; cut: boolean } {
  const lines = output.replace(/\s+$/, '').split('\n');
  let text = lines.slice(-MAX_OUTPUT_LINES).join('\n');
  let cut = lines.length > MAX_OUTPUT_LINES;
  // A marker forged in code output would still be found by a parser reading the raw body.
  text = text.replaceAll('<!--', '<!\u200b--');
  if (text.length > maxChars) {
    text = text.slice(text.length - maxChars);
    cut = true;
  }
  return { text, cut };
}

function renderFooter(input: PullRequestBodyInput): string {
  const { usage } = input;
  const tokens = `${formatCount(usage.promptTokens)} prompt tokens (${formatCount(usage.cachedTokens)} cached), ${formatCount(usage.completionTokens)} completion tokens`;
  const cost = usage.usd === null ? 'no price configured' : `$${usage.usd.toFixed(2)}`;
  const steps = `${input.steps} ${input.steps === 1 ? 'step' : 'steps'}`;
  const page = isHttpUrl(input.pageUrl) ? ` · [task page](${input.pageUrl})` : '';
  const used = input.resources ? renderResources(input.resources) : '';
  const resources = used ? ` · ${used}` : '';
  const model = input.model ? ` · ${inlineText(input.model, 100)}` : '';
  const n = input.compactions ?? 0;
  const compactions = ` · ${n} context ${n === 1 ? 'compaction' : 'compactions'}`;
  const stages = input.stages ? `<br>${renderStageTimes(input.stages)}` : '';
  return `---\n<sub>Patchbay${model} · ${steps} · ${tokens} · ${cost} · ${formatDuration(input.durationMs)}${compactions}${resources}${page}${stages}</sub>`;
}

const SETUP_WORDS: Record<StageTimes['setup']['kind'], string> = {
  prepared: 'prepared',
  maintenance: 'maintenance',
  full: 'full',
  none: 'none',
};

/** `clone 0.4s · setup (prepared) 12ms · agent 41.2s · checks 3.0s`: where the time went. */
export function renderStageTimes(stages: StageTimes): string {
  return [
    `clone ${formatDuration(stages.cloneMs)}`,
    `setup (${SETUP_WORDS[stages.setup.kind]}) ${formatDuration(stages.setup.ms)}`,
    `agent ${formatDuration(stages.agentMs)}`,
    `checks ${formatDuration(stages.checksMs)}`,
  ].join(' · ');
}

/** `peak memory 312 MiB of 4 GiB, peak disk 1.2 GiB of 10 GiB`; a peak not measured is left out. */
function renderResources(resources: TaskResources): string {
  const parts: string[] = [];
  if (resources.peakMemoryBytes !== null) {
    parts.push(
      `peak memory ${formatBytes(resources.peakMemoryBytes)} of ${formatBytes(resources.memoryLimitBytes)}`,
    );
  }
  if (resources.peakDiskBytes !== null) {
    parts.push(
      `peak disk ${formatBytes(resources.peakDiskBytes)} of ${formatBytes(resources.diskLimitBytes)}`,
    );
  }
  return parts.join(', ');
}

/**
 * Model-written markdown stays markdown, but `<!--` cannot open a comment (which could forge a marker
 * or hide the rest of the body) and `@name` / `@org/team` cannot notify anyone. A zero-width space
 * rather than an entity, because inside code spans and blocks an entity would show up verbatim.
 */
export function neutralise(text: string): string {
  return text.replaceAll('<!--', '<!\u200b--').replace(/(?<![A-Za-z0-9_])@(?=[A-Za-z0-9_-])/g, '@\u200b');
}

/** One line of untrusted text inside markdown we wrote: no markup, no line breaks, no mentions. */
function inlineText(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const escaped = flat
    .replace(/[\\`*_[\]()|~]/g, (c) => `\\${c}`)
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;');
  return truncate(neutralise(escaped), max);
}

/** A code span for a table cell: survives backticks and pipes in its content. */
function codeSpan(text: string, max: number): string {
  const flat = neutralise(truncate(text.replace(/\s+/g, ' ').trim(), max)).replaceAll('|', '\\|');
  const ticks = '`'.repeat(longestRun(flat, '`') + 1);
  // The padding (stripped by the renderer) keeps a leading or trailing backtick off the delimiters.
  const pad = flat.includes('`') ? ' ' : '';
  return `${ticks}${pad}${flat}${pad}${ticks}`;
}

/** Text inside HTML we wrote (a <summary>): markdown is not rendered there, so HTML escaping it is. */
function htmlText(text: string, max: number): string {
  const flat = truncate(text.replace(/\s+/g, ' ').trim(), max);
  const escaped = flat.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
  return neutralise(escaped);
}

function longestRun(text: string, char: string): number {
  let longest = 0;
  let run = 0;
  for (const c of text) {
    run = c === char ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  return longest;
}

function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = '… (cut)';
  return text.slice(0, Math.max(0, max - note.length)) + note;
}

function isHttpUrl(url: string | undefined): url is string {
  return url !== undefined && /^https?:\/\/[^\s()<>]+$/.test(url);
}

function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** `850ms`, `12.3s`, `3m 4s`, `1h 2m`. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}s`;
  const totalSeconds = Math.round(ms / 1_000);
  const hours = Math.floor(totalSeconds / 3_600);
  const minutes = Math.floor((totalSeconds % 3_600) / 60);
  if (hours > 0) return `${hours}h ${minutes}m`;
  return `${minutes}m ${totalSeconds % 60}s`;
}
