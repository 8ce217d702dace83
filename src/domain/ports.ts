import type { ConversationState } from './conversation.js';
import type { ReplyAddress } from './reply-address.js';
import type {
  CheckResult,
  PullRequestRef,
  TaskRecord,
  TaskResources,
  TaskStatus,
  TaskSummary,
  Usage,
} from './task.js';
import type { Origin } from './task-request.js';
import type { StageTimes, StoredTimelineEntry, TimelineEntry } from './timeline.js';

/** Durable task records and transcripts (Redis in production, memory for `patchbay run`). */
export interface TaskStore {
  /** Stores a new task and its audience (the places that hear about it). */
  create(record: TaskRecord, audience: ReplyAddress[]): Promise<void>;
  get(id: string): Promise<TaskRecord | null>;
  /** The places that hear about the task, in the order they joined; the first is where it was asked. */
  audience(id: string): Promise<ReplyAddress[]>;
  /** Adds a place to the task's audience (at most MAX_AUDIENCE); false when it is there already. */
  join(id: string, address: ReplyAddress): Promise<boolean>;
  /** Read-modify-write of one record; `change` may run more than once under contention. */
  update(id: string, change: (current: TaskRecord) => Partial<TaskRecord>): Promise<TaskRecord>;
  /**
   * The task's transcript (the model's messages), kept as an append-only log: each turn appends what
   * it added, never rewriting what is there, so that what is stored grows with the task, not its square.
   */
  getTranscript(id: string): Promise<unknown[]>;
  appendTranscript(id: string, messages: unknown[]): Promise<void>;
  /** Remembers the transcript's length now as the question checkpoint: where an answer resumes. */
  checkpointTranscript(id: string): Promise<void>;
  /**
   * Cuts the transcript back to the question checkpoint (`question`; nothing when there is none) or to
   * nothing (`start`), and returns what is left: what an attempt starts from, whatever an earlier
   * attempt that crashed or was retried appended after it. Either way the resume point is dropped.
   */
  rewindTranscript(id: string, to: 'start' | 'question'): Promise<unknown[]>;
  /**
   * Appends like `appendTranscript`, and marks the transcript as it then is (these messages included)
   * as the task's resume point: where a retried or interrupted attempt of the same run continues.
   */
  appendTranscriptAt(id: string, messages: unknown[], point: ResumeMark): Promise<void>;
  /**
   * Replaces the whole transcript (compaction rewrote it) and marks the new one as the resume point;
   * with no point (the work tree could not be kept), the resume point and the question checkpoint go,
   * since neither would name the same messages any more.
   */
  replaceTranscript(id: string, messages: unknown[], point: ResumeMark | null): Promise<void>;
  /**
   * Cuts the transcript back to its resume point when that point belongs to `run`, and returns the
   * messages up to it with the point; null (and nothing changed) when there is no such point.
   */
  rewindToResumePoint(id: string, run: number): Promise<{ messages: unknown[]; point: ResumePoint } | null>;
}

/**
 * The state of a task's work tree that a stored model reply applies to, kept where any worker can
 * fetch it: the commit of the kept work (`sha`, under the task's kept-work ref; null when the tree was
 * still the one the attempt started from) and that starting commit (`base`).
 */
export interface KeptWork {
  base: string;
  sha: string | null;
}

/** What a resume point records besides its place in the transcript. */
export interface ResumeMark {
  /** The task's run (1, plus one per answered question): a point of an earlier run is never resumed. */
  run: number;
  work: KeptWork;
  /** The task's steps when the reply was stored: the tool calls after it are counted again if they run again. */
  steps: number;
}

export interface ResumePoint extends ResumeMark {
  /** Messages of the transcript it covers. */
  length: number;
}

/** Branch, PR and pending question of each conversation. */
export interface ConversationStore {
  get(id: string): Promise<ConversationState | null>;
  put(state: ConversationState): Promise<void>;
  /** Marks `taskId` as waiting for the conversation's next message. */
  setWaiting(id: string, taskId: string): Promise<void>;
  /** Atomically takes the waiting task, so that one message answers a question once. */
  takeWaiting(id: string): Promise<string | null>;
  clearWaiting(id: string, taskId: string): Promise<void>;
  /** The newest task of the conversation (what "stop" and "status" refer to). */
  setLatest(id: string, taskId: string): Promise<void>;
  latest(id: string): Promise<string | null>;
}

/** A short-lived lock; `release` gives it up only if it is still this holder's. */
export interface Lock {
  release(): Promise<void>;
}

/**
 * Small bits of an integration's state shared across processes (a Slack status message's ts, …),
 * every key under the integration's own namespace and with an expiry.
 */
export interface KeyValueStore {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  /** Sets only when absent; true when this call set it. */
  setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Reads and removes in one step: of two callers, one gets the value. */
  take(key: string): Promise<string | null>;
  /** Takes a lock held until released or for `ttlSeconds`; null while someone else holds it. */
  tryLock(key: string, ttlSeconds: number): Promise<Lock | null>;
}

/** Delivery ids seen recently: the same delivery twice yields the first task. */
export interface IdempotencyStore {
  /** Stores `taskId` under `key` unless present; returns the task id that owns the key. */
  claim(key: string, taskId: string): Promise<string>;
  release(key: string, taskId: string): Promise<void>;
  /** Hands the key from one task to another in one step (a message that answered another task). */
  transfer(key: string, from: string, to: string): Promise<void>;
}

/** Hands a task to the workers. */
export interface TaskQueue {
  /** Queues run number `run` of a task (a resumed task is a new run of the same task). */
  enqueue(task: { id: string; conversation: string }, run: number): Promise<void>;
  /** Removes a run's queued job if no worker took it yet; true when removed. */
  withdraw(taskId: string, run: number): Promise<boolean>;
}

/** Asks whichever process runs a task to stop it. */
export interface CancelBus {
  request(taskId: string): Promise<void>;
}

/** What a pull request of a task shows: domain data; the code host renders it its own way. */
export interface PullRequestDraft {
  repo: string;
  /** The head branch, in the same repository (`patchbay/ENG-1-fix-login`). */
  branch: string;
  base: string;
  title: string;
  draft: boolean;
  taskId: string;
  conversation: string;
  /** From the agent's `finish`: model output, so untrusted. */
  summary: string;
  origin: Origin;
  checks: CheckResult[];
  usage: Usage;
  steps: number;
  durationMs: number;
  /** Peak memory and disk of the task's commands, for the footer. */
  resources?: TaskResources;
  /** The model the agent ran on, and how often it compacted its transcript (the PR's footer). */
  model?: string;
  compactions?: number;
  /** Where the time went: clone, setup (and how it was made), agent, checks. */
  stages?: StageTimes;
  /** Names the agent's commands were refused by the network allowlist (`network: allowlist`), first seen first. */
  blockedNames?: string[];
}

/** Opens a branch's pull request, or updates the one it has (GitHub). */
export interface PullRequestHost {
  publish(draft: PullRequestDraft): Promise<PullRequestRef & { created: boolean }>;
}

/**
 * A task's timeline (domain/timeline.ts): appended by whichever worker runs the task, read and followed
 * by any server process. Values are redacted before they reach it; it is capped in bytes per task
 * (older tool outputs shortened first, a `note` entry saying so) and expires with the task.
 */
export interface TaskTimeline {
  append(taskId: string, entry: TimelineEntry): Promise<void>;
  /** Entries after `after` (an entry id; all when absent), oldest first, at most `limit`. */
  read(taskId: string, opts?: { after?: string; limit?: number }): Promise<StoredTimelineEntry[]>;
  /**
   * Hands over every entry appended after `after` as it comes, until `signal` aborts; entries that were
   * already there come first. Works whichever process appends them.
   */
  follow(
    taskId: string,
    after: string | undefined,
    onEntries: (entries: StoredTimelineEntry[]) => void,
    signal: AbortSignal,
  ): Promise<void>;
}

/** The change of a task as a reviewer reads it: from the base branch to what the task pushed. */
export interface TaskDiff {
  files: string[];
  stat: string;
  /** Unified diff, capped (a note at its end says what was cut). */
  patch: string;
}

/** The diff of each task, kept as long as the task (redacted before it is stored). */
export interface TaskDiffs {
  put(taskId: string, diff: TaskDiff): Promise<void>;
  get(taskId: string): Promise<TaskDiff | null>;
}

/** What a list of tasks may be narrowed to (the dashboard's filters, `GET /api/tasks`). */
export interface TaskFilter {
  status?: TaskStatus;
  repo?: string;
  source?: string;
  requester?: string;
}

/** Tasks newest first, for lists: every retained task, and each conversation's. */
export interface TaskIndex {
  /**
   * A page of tasks matching `filter` whose repository `visible` allows, newest first; `next` is the
   * cursor of the page after it, absent on the last.
   */
  list(
    filter: TaskFilter,
    page: { cursor?: string; limit: number; visible?: (repo: string) => Promise<boolean> },
  ): Promise<{ tasks: TaskSummary[]; next?: string }>;
  /** The tasks of a conversation, oldest first (follow-ups, answers, retries). */
  ofConversation(conversation: string): Promise<TaskSummary[]>;
  /** Every task waiting for an answer whose repository `visible` allows. */
  waiting(visible?: (repo: string) => Promise<boolean>): Promise<TaskSummary[]>;
}
