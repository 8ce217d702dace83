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
