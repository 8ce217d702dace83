/** Cancels a timer; calling it again, or after the timer fired, does nothing. */
export type CancelTimer = () => void;

/**
 * Time as seen by code that spaces, coalesces or waits for things: the system's, or in tests one that
 * moves only when the test moves it, so that "at most one edit per interval" can be checked exactly.
 */
export interface Clock {
  now(): number;
  /** Calls `fn` once, `ms` from now. The system clock's timers never keep the process alive. */
  setTimer(fn: () => void, ms: number): CancelTimer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/** Resolves `ms` from now on `clock`. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => {
    clock.setTimer(resolve, ms);
  });
}

/** Resolves once `work` settled or `ms` passed on `clock`, whichever comes first; never rejects. */
export async function waitAtMost(clock: Clock, ms: number, work: Promise<unknown>): Promise<void> {
  let cancel: CancelTimer = () => undefined;
  const late = new Promise<void>((resolve) => {
    cancel = clock.setTimer(resolve, ms);
  });
  await Promise.race([work.catch(() => undefined), late]);
  cancel();
}

/**
 * `work`'s result, or a rejection with `late()` once `ms` passed on `clock`. The work is not
 * abandoned, and its failure after the deadline is no unhandled rejection.
 */
export function withDeadline<T>(clock: Clock, work: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let cancel: CancelTimer = () => undefined;
  const timeout = new Promise<never>((_, reject) => {
    cancel = clock.setTimer(() => reject(late()), Math.max(0, ms));
  });
  work.catch(() => undefined);
  return Promise.race([work, timeout]).finally(cancel);
}
