import type { KeyValueStore } from '../../domain/ports.js';
import type { TaskRecord } from '../../domain/task.js';
import { toStableUuid } from '../../lib/ids.js';

/**
 * Where a task's progress is shown: an agent session (activities, plan) or, in assignment mode, the
 * issue itself (one progress comment per run, the result in a reply). A task has the place it came
 * from and every place a later start event on the same issue attached to it.
 */
export type LinearTarget =
  | { kind: 'session'; sessionId: string; organizationId?: string }
  | { kind: 'issue'; issueId: string; organizationId?: string };

const DAY_SECONDS = 86_400;
const TTL_SECONDS = 30 * DAY_SECONDS;

export const targetKeys = {
  extra: (taskId: string) => `linear:targets:${taskId}`,
  progress: (taskId: string, run: number) => `linear:progress:${taskId}.${run}`,
};

/**
 * The ids Patchbay gives what a run posts (Linear's create inputs take a client-chosen UUID): the same
 * task, run and place give the same id, so a worker that retries after a crash, or a call retried
 * after its answer was lost, makes no second comment or activity. `what` names the post in the run.
 */
export function toPostId(task: Pick<TaskRecord, 'id' | 'runs'>, target: LinearTarget, what: string): string {
  return toStableUuid(`linear:${task.id}.${task.runs}:${targetId(target)}:${what}`);
}

export function targetId(target: LinearTarget): string {
  return target.kind === 'session' ? `session:${target.sessionId}` : `issue:${target.issueId}`;
}

/** The place a task was requested from, as its origin's `ref` says. */
export function primaryTarget(task: TaskRecord): LinearTarget | null {
  const ref = task.request.origin.ref;
  const organizationId = ref.organizationId || undefined;
  if (ref.sessionId) return { kind: 'session', sessionId: ref.sessionId, organizationId };
  if (ref.mode === 'assignment' && ref.issueId)
    return { kind: 'issue', issueId: ref.issueId, organizationId };
  return null;
}

/** Every place of the task: its own, then the attached ones, each once. */
export async function targetsOf(task: TaskRecord, kv: KeyValueStore): Promise<LinearTarget[]> {
  const primary = primaryTarget(task);
  const extra = await readExtra(kv, task.id);
  const all = primary ? [primary, ...extra] : extra;
  const seen = new Set<string>();
  return all.filter((t) => !seen.has(targetId(t)) && Boolean(seen.add(targetId(t))));
}

/** Attaches a place to a task; false when the task already reports there. */
export async function addTarget(kv: KeyValueStore, task: TaskRecord, target: LinearTarget): Promise<boolean> {
  const current = await targetsOf(task, kv);
  if (current.some((t) => targetId(t) === targetId(target))) return false;
  const extra = await readExtra(kv, task.id);
  await kv.set(targetKeys.extra(task.id), JSON.stringify([...extra, target]), TTL_SECONDS);
  return true;
}

async function readExtra(kv: KeyValueStore, taskId: string): Promise<LinearTarget[]> {
  const raw = await kv.get(targetKeys.extra(taskId));
  if (!raw) return [];
  try {
    const parsed: unknown = JSON.parse(raw);
    return Array.isArray(parsed) ? (parsed as LinearTarget[]) : [];
  } catch {
    return [];
  }
}
