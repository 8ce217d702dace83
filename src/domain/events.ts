import type { ReplyAddress, ReplyAddressKind } from './reply-address.js';
import type { CheckResult, PullRequestRef, TaskRecord, TaskResources, Usage } from './task.js';

/** A summary of one agent step for progress displays: never the whole prompt, never tool output. */
export interface StepInfo {
  step: number;
  tool: string;
  /** One line: `bash: npm test`, `edit_file: src/a.ts`. */
  detail: string;
  usage: Usage;
  elapsedMs: number;
}

export type TaskEvent =
  | { type: 'accepted'; task: TaskRecord }
  | { type: 'started'; task: TaskRecord; stage: TaskStage }
  | { type: 'stage'; task: TaskRecord; stage: TaskStage }
  | { type: 'step'; task: TaskRecord; step: StepInfo }
  | { type: 'question'; task: TaskRecord; question: string }
  | {
      type: 'finished';
      task: TaskRecord;
      pullRequest?: PullRequestRef;
      summary: string;
      checks: CheckResult[];
      /** The commit this run pushed, when it changed anything. */
      commit?: { sha: string; files: string[] };
      /** Peak memory and disk of the task's commands against its limits (absent when nothing ran). */
      resources?: TaskResources;
    }
  | {
      type: 'failed';
      task: TaskRecord;
      code: string;
      message: string;
      hint?: string;
      /** As on `finished`: what the task used of its limits before it failed. */
      resources?: TaskResources;
    };

export type TaskStage = 'clone' | 'setup' | 'agent' | 'checks' | 'pull_request';

/** Receives every event of a task (a log, a terminal, a test's recorder). Never fails the task. */
export interface Reporter {
  report(event: TaskEvent): Promise<void>;
}

/**
 * An integration's reporter: renders a task's events at the places of its kinds in the task's
 * audience (`places`: all of them at once, so that what concerns the task rather than a place, such
 * as moving a Linear issue, is done once). A failure to report never fails the task.
 */
export interface PlaceReporter {
  readonly kinds: readonly ReplyAddressKind[];
  report(event: TaskEvent, places: ReplyAddress[]): Promise<void>;
}

/**
 * Tells places something outside a task's run, in plain text with `code` spans (an automation that
 * gives up, a schedule that pauses): a comment on a pull request, a reply in a Slack thread, a
 * comment on a Linear issue. Never throws: a place that cannot be told is logged.
 */
export type TellPlaces = (places: ReplyAddress[], text: string) => Promise<void>;

/** An integration's way of telling its kinds of place something (see TellPlaces). */
export interface PlaceNotices {
  readonly kinds: readonly ReplyAddressKind[];
  tell(places: ReplyAddress[], text: string): Promise<void>;
}
