import type { PlaceNotices, PlaceReporter, Reporter } from '../domain/events.js';
import type { InboxEntry, InboxHandler } from '../domain/inbox.js';
import type { KeyValueStore } from '../domain/ports.js';
import type { ReplyAddress } from '../domain/reply-address.js';
import type { TaskRecord } from '../domain/task.js';
import type { Logger } from '../lib/logger.js';
import type { ConversationDoor } from '../tasks/conversation-door.js';
import type { SubmitOptions, Submitted } from '../tasks/submit-task.js';
import type { HttpServer } from './http-server.js';

export type { ConversationDoor, ConversationView, StopOutcome } from '../tasks/conversation-door.js';

/** What a trigger may do with tasks: the same use cases the HTTP API uses, and its conversations'. */
export interface TaskServices {
  /**
   * With `id`: the task id chosen when the request was accepted; submitting again makes no second task.
   * With `conversation`: its stored state as the caller read it just before (conversations.read).
   */
  submit(input: unknown, opts?: SubmitOptions): Promise<Submitted>;
  /**
   * One Redis round trip that makes a request durable and deduplicated; the inbox's consumer makes
   * its task afterwards (entries of kind `task` hold a whole TaskRequest; other kinds go to the
   * integration that registered a handler for them).
   */
  accept(entry: InboxEntry): Promise<{ taskId: string; duplicate: boolean }>;
  cancel(taskId: string): Promise<TaskRecord>;
  getTask(taskId: string): Promise<TaskRecord | null>;
  conversations: ConversationDoor;
}

/**
 * Everything an integration is given, and nothing more: the task use cases, a key-value store of its
 * own (its keys, its locks), its logger. Its settings (its credentials, its slice of `patchbay.yml`)
 * come separately from the composition root; the whole configuration never does.
 */
export interface IntegrationContext {
  tasks: TaskServices;
  kv: KeyValueStore;
  log: Logger;
}

/**
 * A chat or tracker Patchbay talks to (Slack, Linear, GitHub): routes on the shared server that turn
 * deliveries into tasks, and a reporter that renders task events at its places.
 */
export interface Integration {
  readonly name: string;
  registerRoutes?(http: HttpServer): void;
  /** Turns this integration's inbox entries into tasks, in the server process, after the answer. */
  inboxHandlers?: Record<string, InboxHandler>;
  /** Renders task events at this integration's places in a task's audience, in the worker. */
  reporter?: PlaceReporter;
  /** Tells its kinds of place something outside a task's run (an automation giving up). */
  notices?: PlaceNotices;
  /** Hears every event of every task, whoever else does (GitHub remembers which commits were results). */
  observer?: Reporter;
  /** One of its alarms went off (set through its own deps); runs in a worker process. */
  wake?(data: unknown): Promise<void>;
  /**
   * Posts `text` as the first message of a new thread in `channel` and returns the thread as a place:
   * where a task started by a machine (a schedule's run) reports as a mention's would.
   */
  openThread?(channel: string, text: string): Promise<ReplyAddress>;
  start?(): Promise<void>;
  stop?(): Promise<void>;
}
