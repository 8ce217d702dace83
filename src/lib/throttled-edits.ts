import { type CancelTimer, type Clock, systemClock } from './clock.js';
import type { Logger } from './logger.js';

export interface ThrottledEditsDeps {
  /** Shows `text`: posts the message the first time, edits it after. Throws when that failed. */
  send(text: string): Promise<void>;
  /**
   * Runs `work` after every call queued before it (the owner's other calls too: a reply never
   * overtakes the status it follows) and resolves once it ran; a failure is the owner's to log.
   */
  enqueue(work: () => Promise<void>): Promise<void>;
  /** At most one send per this many ms; the latest text wins. */
  intervalMs: number;
  clock?: Clock;
  log?: Logger;
  /** Failed sends in a row after which a failing message is not retried by itself (default 3). */
  maxFailures?: number;
}

export interface ThrottledEdits {
  /** The latest progress: sent at once when the interval since the last send is over, else then. */
  update(text: string): void;
  /** The final state: queued at once, no progress after it. Resolves once it was sent (or failed). */
  final(text: string): Promise<void>;
  /** Sends the progress that waits for its slot now (shutdown). */
  flushNow(): void;
  /** Drops the progress that waits for its slot; only `final` sends after this. */
  stop(): void;
}

/**
 * A status message edited in place, at most once per interval (chat.update and Linear's comment
 * updates are rate limited, and a long run must stay under the limit): the latest text wins, sends
 * never overtake each other, the final state goes out at once, and a message that keeps failing
 * (deleted, archived) is retried a few times and then left alone until new progress or the end.
 */
export function createThrottledEdits(deps: ThrottledEditsDeps): ThrottledEdits {
  const clock = deps.clock ?? systemClock;
  const maxFailures = deps.maxFailures ?? 3;
  let pending: string | undefined;
  let sent: string | undefined;
  let lastSendAt = 0;
  let failures = 0;
  let cancelTimer: CancelTimer | undefined;
  /** A send is queued and has not started: later progress rides on it instead of queueing another. */
  let queued = false;
  let ended = false;
  let stopped = false;

  async function send(): Promise<void> {
    try {
      const text = pending;
      if (text === undefined || text === sent) return;
      try {
        await deps.send(text);
      } catch (err) {
        failures += 1;
        lastSendAt = clock.now();
        if (failures === maxFailures)
          deps.log?.warn({ failures }, 'status message keeps failing; left alone');
        throw err;
      }
      sent = text;
      lastSendAt = clock.now();
      failures = 0;
    } finally {
      // Progress that came in meanwhile waits for the next slot; `queued` kept it from piling up.
      queued = false;
      if (pending !== sent && !ended && !stopped && failures < maxFailures) schedule();
    }
  }

  function queueSend(): Promise<void> {
    queued = true;
    return deps.enqueue(send);
  }

  function cancel(): void {
    cancelTimer?.();
    cancelTimer = undefined;
  }

  function schedule(): void {
    if (queued || cancelTimer) return;
    // Nothing shown yet: the first post is not an edit and should not wait.
    const wait = sent === undefined ? 0 : lastSendAt + deps.intervalMs - clock.now();
    if (wait <= 0) {
      void queueSend();
      return;
    }
    cancelTimer = clock.setTimer(() => {
      cancelTimer = undefined;
      void queueSend();
    }, wait);
  }

  return {
    update(text) {
      if (ended || stopped) return;
      pending = text;
      schedule();
    },
    final(text) {
      cancel();
      ended = true;
      pending = text;
      return queueSend();
    },
    flushNow() {
      if (!cancelTimer) return;
      cancel();
      void queueSend();
    },
    stop() {
      cancel();
      stopped = true;
    },
  };
}
