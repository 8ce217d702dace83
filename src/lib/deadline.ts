import { type CancelTimer, type Clock, systemClock } from './clock.js';

/**
 * The work's result, or a rejection with `message` once `ms` have passed on `clock`. The work is not
 * abandoned (it may still finish, e.g. queue a task that a redelivery then finds); its failure after
 * the deadline is swallowed, never an unhandled rejection.
 */
export function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  message: string,
  clock: Clock = systemClock,
): Promise<T> {
  let cancel: CancelTimer = () => undefined;
  const late = new Promise<never>((_, reject) => {
    cancel = clock.setTimer(() => reject(new Error(message)), Math.max(0, ms));
  });
  work.catch(() => undefined);
  return Promise.race([work, late]).finally(cancel);
}

/**
 * Waits for `work` to settle, but no longer than `ms` on `clock`: true when it settled in time. Neither
 * its result nor its failure is passed on, and the system clock's timer never keeps the process alive.
 */
export async function settleWithin(
  work: Promise<unknown>,
  ms: number,
  clock: Clock = systemClock,
): Promise<boolean> {
  let cancel: CancelTimer = () => undefined;
  const late = new Promise<false>((resolve) => {
    cancel = clock.setTimer(() => resolve(false), ms);
  });
  const settled = work.then(
    () => true,
    () => true,
  );
  return Promise.race([settled, late]).finally(cancel);
}
