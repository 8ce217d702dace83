import type { Reporter, TaskEvent } from '../domain/events.js';
import type { Logger } from '../lib/logger.js';

/** A failure to report progress is logged and never fails the task. */
export function toSafeReporter(reporter: Reporter, log: Logger): Reporter {
  return {
    async report(event: TaskEvent) {
      try {
        await reporter.report(event);
      } catch (err) {
        log.warn({ event: event.type, err: (err as Error).message }, 'could not report task progress');
      }
    },
  };
}

/** Sends each event to every reporter. */
export function combineReporters(...reporters: Reporter[]): Reporter {
  return {
    async report(event) {
      await Promise.all(reporters.map((r) => r.report(event)));
    },
  };
}
