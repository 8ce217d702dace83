/**
 * The work's result, or a rejection with `message` once `ms` have passed. The work is not abandoned
 * (it may still finish, e.g. queue a task that a redelivery then finds); its failure after the
 * deadline is swallowed, never an unhandled rejection.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), Math.max(0, ms));
  });
  work.catch(() => undefined);
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/**
 * Waits for `work` to settle, but no longer than `ms`: true when it settled in time. Neither its
 * result nor its failure is passed on, and the timer never keeps the process alive.
 */
export async function settleWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  const settled = work.then(
    () => true,
    () => true,
  );
  return Promise.race([settled, late]).finally(() => clearTimeout(timer));
}
