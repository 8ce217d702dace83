import type { TaskEvent, TaskStage } from '../../domain/events.js';
import type { Logger } from '../../lib/logger.js';
import { isGone } from './linear-api.js';

/** One place a run reports to (a session, an issue's comments, the issue itself). */
export interface LinearSink {
  /** A progress event (`started`, `stage`, `step`); never waits for Linear. */
  progress(event: TaskEvent, stage: TaskStage): void;
  /** The run's last event; resolves once its calls were made (or failed). */
  end(event: TaskEvent, stage: TaskStage): Promise<void>;
  /** Sends what waits for its slot now (shutdown). */
  flush(): void;
}

/**
 * The calls of one sink, in order: a later one never overtakes an earlier one. A failure is logged
 * and never fails the task; once Linear says the entity is gone (the issue was deleted), the rest
 * is skipped.
 */
export function createCallChain(log: Logger, track: (p: Promise<void>) => void) {
  let chain: Promise<void> = Promise.resolve();
  let gone = false;
  return {
    get gone() {
      return gone;
    },
    run(what: string, call: () => Promise<unknown>): Promise<void> {
      chain = chain.then(async () => {
        if (gone) return;
        try {
          await call();
        } catch (err) {
          if (isGone(err)) {
            gone = true;
            log.info({ what, err: (err as Error).message }, 'linear entity gone; skipping its updates');
            return;
          }
          log.warn({ what, err: (err as Error).message }, 'linear update failed');
        }
      });
      const tracked = chain;
      track(tracked);
      return tracked;
    },
  };
}
export type CallChain = ReturnType<typeof createCallChain>;
