import { settleWithin } from './deadline.js';
import type { Logger } from './logger.js';

/** Work started in the background: `what` names it in the log line if it fails. */
export type RunInBackground = (what: string, work: () => Promise<unknown>) => void;

/**
 * Replies and reactions an integration sends after it answered a webhook: a failure is logged under
 * `failure` and never thrown (the request was already answered), and a stopping process can wait for
 * what is still on its way, up to a deadline.
 */
export function createBackgroundWork(log: Logger, failure: string) {
  const pending = new Set<Promise<unknown>>();
  const run: RunInBackground = (what, work) => {
    const p = work().catch((err: Error) => log.warn({ what, err: err.message }, failure));
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  /** Resolves once everything started so far settled (and then `after`), or after `maxMs`. */
  async function settle(maxMs: number, after?: () => Promise<unknown>): Promise<void> {
    await settleWithin(
      Promise.allSettled([...pending]).then(() => after?.()),
      maxMs,
    );
  }
  return { run, settle };
}
