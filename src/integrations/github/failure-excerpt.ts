import type { Annotation, CheckApi } from './check-api.js';
import { MissingPermission } from './check-api.js';
import type { FailedCheck } from './check-verdict.js';

/** What the autofix learnt about one failing check. */
export interface FailureDetail {
  check: FailedCheck;
  annotations: Annotation[];
  /** GitHub Actions: the failed steps' names and the end of the job's log. */
  job?: { failedSteps: string[]; log: string };
}

/** At most this many failing checks are looked into (their names are all listed). */
const MAX_DETAILED = 5;
const MAX_ANNOTATIONS = 20;
const MAX_OUTPUT_CHARS = 2_000;
const MAX_ANNOTATION_CHARS = 400;
const MAX_LOG_LINES = 80;
const MAX_LOG_CHARS = 5_000;
/** The whole excerpt stays well under a request's 50,000-character context. */
export const MAX_EXCERPT_CHARS = 24_000;

/**
 * Reads what GitHub says about each failing check: annotations, and for an Actions job its failed
 * steps and log. A read the App may not make (`MissingPermission`) is reported and skipped.
 */
export async function gatherFailureDetails(
  api: Pick<CheckApi, 'annotations' | 'job'>,
  repo: string,
  failed: FailedCheck[],
  onMissing: (err: MissingPermission) => void,
): Promise<FailureDetail[]> {
  const tolerant = async <T>(read: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await read();
    } catch (err) {
      if (!(err instanceof MissingPermission)) throw err;
      onMissing(err);
      return fallback;
    }
  };
  const details: FailureDetail[] = [];
  for (const check of failed.slice(0, MAX_DETAILED)) {
    if (check.kind !== 'check_run') {
      details.push({ check, annotations: [] });
      continue;
    }
    const annotations =
      (check.run.output?.annotations_count ?? 0) > 0
        ? await tolerant(() => api.annotations(repo, check.id), [])
        : [];
    const job =
      check.app === 'github-actions'
        ? await tolerant(async () => {
            const read = await api.job(repo, check.id);
            const failedSteps = read.steps.filter((s) => s.conclusion === 'failure').map((s) => s.name);
            return { failedSteps, log: read.log };
          }, undefined)
        : undefined;
    details.push({ check, annotations, job });
  }
  for (const check of failed.slice(MAX_DETAILED)) details.push({ check, annotations: [] });
  return details;
}

/**
 * The untrusted context of an autofix task: which checks failed and an excerpt of each failure
 * (check-run output, annotations, the failed steps' log tail), every piece redacted before it is cut
 * (a cut secret would no longer look like one), the whole capped.
 */
export function renderFailureExcerpt(
  input: { pull: number; sha: string; details: FailureDetail[] },
  redact: (text: string) => string,
): string {
  const clean = (text: string | null | undefined, max: number) => cut(redact(text ?? '').trim(), max);
  const names = input.details.map((d) => `- ${describeCheck(d.check)}`).join('\n');
  const parts = [
    `Checks that failed on commit ${input.sha.slice(0, 12)} of pull request #${input.pull} (reported by CI; the text below comes from the check runs and logs):`,
    names,
  ];
  for (const detail of input.details.slice(0, MAX_DETAILED)) {
    const section = [`## ${detail.check.name}`];
    if (detail.check.kind === 'status' && detail.check.description) {
      section.push(clean(detail.check.description, MAX_OUTPUT_CHARS));
    }
    if (detail.check.kind === 'check_run') {
      const output = detail.check.run.output;
      const text = [output?.title, output?.summary, output?.text].filter(Boolean).join('\n\n');
      if (text) section.push(clean(text, MAX_OUTPUT_CHARS));
    }
    const notes = detail.annotations.slice(0, MAX_ANNOTATIONS).map((a) => {
      const where = a.start_line ? `${a.path}:${a.start_line}` : a.path;
      const title = a.title ? `${a.title}: ` : '';
      return `- ${where} (${a.annotation_level ?? 'note'}): ${clean(title + a.message, MAX_ANNOTATION_CHARS)}`;
    });
    if (notes.length) section.push(`Annotations:\n${notes.join('\n')}`);
    if (detail.job) {
      const steps = detail.job.failedSteps.length ? detail.job.failedSteps.join(', ') : 'not reported';
      section.push(`Failed steps: ${steps}`);
      const tail = logTail(redact(detail.job.log));
      if (tail) section.push(`End of the job's log:\n${fence(tail)}`);
    }
    parts.push(section.join('\n\n'));
  }
  return cut(parts.join('\n\n'), MAX_EXCERPT_CHARS);
}

function describeCheck(check: FailedCheck): string {
  if (check.kind === 'status') return `${check.name} (commit status: ${check.state})`;
  const by = check.app ? `, by ${check.app}` : '';
  return `${check.name} (check run: ${check.conclusion}${by})`;
}

const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ?/;

/**
 * The lines of an Actions log up to its last error (`##[error]…`; post-job cleanup comes after it),
 * without timestamps and group markers: the failed step's output as it ended. Whole lines only.
 */
export function logTail(log: string): string {
  const lines = log
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.replace(TIMESTAMP, ''))
    .filter((line) => !line.startsWith('##[endgroup]'))
    .map((line) => line.replace(/^##\[group\]/, ''));
  const lastError = lines.findLastIndex((line) => line.startsWith('##[error]'));
  const upTo = lastError >= 0 ? lines.slice(0, lastError + 1) : lines;
  const kept: string[] = [];
  let size = 0;
  for (const line of upTo.slice(-MAX_LOG_LINES).reverse()) {
    size += line.length + 1;
    if (size > MAX_LOG_CHARS) break;
    kept.unshift(line);
  }
  return kept.join('\n').trim();
}

function fence(text: string): string {
  const ticks = '`'.repeat(
    Math.max(
      3,
      (text.match(/`+/g) ?? []).reduce((m, r) => Math.max(m, r.length + 1), 0),
    ),
  );
  return `${ticks}text\n${text}\n${ticks}`;
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}\n… (cut: ${text.length - max} more characters)`;
}
