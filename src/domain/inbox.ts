/**
 * A request accepted before it became a task: its task id is chosen when it is accepted, so that
 * handling it again (after a crash) makes the same task, not a second one.
 */
export interface InboxEntry {
  /** Which handler turns it into a task (`api`, `slack-mention`). */
  kind: string;
  taskId: string;
  /** Slack's event id, the API's Idempotency-Key, …: a second delivery is a duplicate. */
  deliveryId?: string;
  /** JSON: what the handler needs. */
  payload: unknown;
}

/** What an accepted request looks like before the consumer made its task. */
export interface AcceptedRecord {
  kind: string;
  payload: unknown;
  /** Set when the consumer refused it (a repository another conversation works on, …). */
  refused?: { code: string; message: string };
  /** Set when the consumer made its task and job (or dropped it as malformed). */
  made?: boolean;
}

/** Where requests are accepted: one Redis round trip makes them durable and deduplicated. */
export interface Inbox {
  /** Claims the delivery and appends the entry; a duplicate answers the task id of the first. */
  accept(entry: InboxEntry): Promise<{ taskId: string; duplicate: boolean }>;
  accepted(taskId: string): Promise<AcceptedRecord | null>;
  refuse(taskId: string, error: { code: string; message: string }): Promise<void>;
}

/** An entry as the consumer reads it; `acceptedAt` is when it was appended (ms since the epoch). */
export interface ReadEntry {
  id: string;
  taskId: string;
  kind: string;
  payload: unknown;
  acceptedAt: number;
}

/** The consumer group's side of the inbox. */
export interface InboxReader {
  ensureGroup(): Promise<void>;
  /** New entries, waiting up to `blockMs` for one. */
  read(count: number, blockMs: number): Promise<ReadEntry[]>;
  /** Entries read by some consumer and not acknowledged for `minIdleMs`: now this consumer's. */
  reclaim(minIdleMs: number, count: number): Promise<ReadEntry[]>;
  /** The entry is handled: acknowledged, and its accepted record marked made. */
  ack(entry: Pick<ReadEntry, 'id' | 'taskId'>): Promise<void>;
  close(): void;
}

/** Turns one entry into its task (and job); throws when it should be tried again later. */
export type InboxHandler = (entry: ReadEntry) => Promise<void>;
