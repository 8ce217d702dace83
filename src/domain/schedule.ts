import type { TaskRecord } from './task.js';

/** A schedule pauses after this many failed runs in a row. */
export const FAILURES_BEFORE_PAUSE = 3;

/** What Patchbay remembers of a schedule between its runs (its definition is in patchbay.yml). */
export interface ScheduleState {
  name: string;
  paused: boolean;
  /** `failures`: it failed FAILURES_BEFORE_PAUSE times in a row; `person`: `patchbay schedules pause`. */
  pausedBy?: 'failures' | 'person';
  failuresInRow: number;
  /**
   * Each merged or closed pull request ends a generation: the next run starts a new conversation, so
   * a new branch and a new pull request.
   */
  generation: number;
  lastRun?: {
    /** The tick the run was for, ms since the epoch. */
    tick: number;
    taskId: string;
    conversation: string;
  };
  lastOutcome?: 'succeeded' | 'failed' | 'cancelled';
}

/** Schedule state in Redis, one hash per schedule, written by whichever process handles a tick or an outcome. */
export interface ScheduleStore {
  /** The state, or a fresh one (generation 1, active) for a schedule never run. */
  get(name: string): Promise<ScheduleState>;
  recordRun(name: string, run: NonNullable<ScheduleState['lastRun']>): Promise<void>;
  /** Moves to a new generation unless another process did first; returns the generation now. */
  nextGeneration(name: string, from: number): Promise<number>;
  /**
   * A run of the schedule ended: failures in a row grow with a failure and start again with a
   * success; each task counts once. Returns the failures in a row now.
   */
  recordOutcome(name: string, taskId: string, outcome: 'succeeded' | 'failed' | 'cancelled'): Promise<number>;
  /** True when this call paused it (it was running). */
  pause(name: string, by: 'failures' | 'person'): Promise<boolean>;
  /** True when this call resumed it; the failures in a row start again from nothing. */
  resume(name: string): Promise<boolean>;
  /** The thread a tick's run reports in, kept so that a retried tick posts no second thread. */
  threadOfTick(name: string, tick: number): Promise<string | null>;
  keepThreadOfTick(name: string, tick: number, thread: string): Promise<void>;
  remove(name: string): Promise<void>;
}

/** The conversation of a schedule's generation: `schedule:<name>:<generation>`. */
export function scheduleConversation(name: string, generation: number): string {
  return `schedule:${name}:${generation}`;
}

/** The schedule a task ran for, from its conversation; undefined for any other task. */
export function scheduleOf(task: Pick<TaskRecord, 'conversation' | 'request'>): string | undefined {
  if (task.request.origin.source !== 'schedule') return undefined;
  return /^schedule:([a-z0-9-]+):\d+$/.exec(task.conversation)?.[1];
}

/** The idempotency key of a tick: however many processes see it, one task. */
export function scheduleTickKey(name: string, tick: number): string {
  return `schedule:${name}:${new Date(tick).toISOString()}`;
}
