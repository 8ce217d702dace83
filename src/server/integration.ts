import type { Config } from '../config/load-config.js';
import type { PlaceReporter } from '../domain/events.js';
import type { ConversationStore, KeyValueStore } from '../domain/ports.js';
import type { ReplyAddress } from '../domain/reply-address.js';
import type { TaskRecord } from '../domain/task.js';
import type { Logger } from '../lib/logger.js';
import type { Submitted } from '../tasks/submit-task.js';
import type { HttpServer } from './http-server.js';

/** What a trigger may do with tasks: the same use cases the HTTP API uses. */
export interface TaskServices {
  submit(input: unknown): Promise<Submitted>;
  cancel(taskId: string): Promise<TaskRecord>;
  getTask(taskId: string): Promise<TaskRecord | null>;
  /** Adds a place to a task's audience: it hears the rest of the task. False when it heard already. */
  joinTask(taskId: string, place: ReplyAddress): Promise<boolean>;
  conversations: ConversationStore;
  kv: KeyValueStore;
  config: Config;
  log: Logger;
}

/**
 * A chat or tracker Patchbay talks to (Slack, Linear, GitHub): routes on the shared server that turn
 * deliveries into tasks, and a reporter that renders the events of the tasks that came from it.
 */
export interface Integration {
  readonly name: string;
  registerRoutes?(http: HttpServer): void;
  /** Renders task events at this integration's places in a task's audience, in the worker. */
  reporter?: PlaceReporter;
  start?(): Promise<void>;
  stop?(): Promise<void>;
}
