import type { PlaceReporter, Reporter, TaskEvent } from '../domain/events.js';
import type { ReplyAddress } from '../domain/reply-address.js';
import type { Logger } from '../lib/logger.js';

export interface EventRoutes {
  /** The task's audience, read for every event: a place that joins while the task runs hears the rest. */
  audience(taskId: string): Promise<ReplyAddress[]>;
  /** The integrations' reporters, each for its kinds of place. */
  places: PlaceReporter[];
  /** Tasks nobody hears about in a chat or tracker (the API, the CLI): their events go here. */
  fallback: Reporter;
  /** Replace the fallback for tasks of one source (tests, the demo's terminal). */
  bySource?: Partial<Record<string, Reporter>>;
  /** Hear every event of every task, whoever else does (the task's timeline, metrics). */
  observers?: Reporter[];
  log: Logger;
}

/**
 * The worker's one reporter: every event of a task goes to the reporter of each place in its audience
 * (all of one reporter's places in one call), or to the fallback when no place of it has one, and to
 * every observer. A reporter that fails is logged and never fails the task.
 */
export function createEventRouter(routes: EventRoutes): Reporter {
  const safely = async (what: string, event: TaskEvent, call: () => Promise<void>) => {
    try {
      await call();
    } catch (err) {
      routes.log.warn(
        { taskId: event.task.id, event: event.type, reporter: what, err: (err as Error).message },
        'could not report task progress',
      );
    }
  };

  async function audienceOf(event: TaskEvent): Promise<ReplyAddress[]> {
    try {
      return await routes.audience(event.task.id);
    } catch (err) {
      routes.log.warn({ taskId: event.task.id, err: (err as Error).message }, 'could not read the audience');
      return [];
    }
  }

  return {
    async report(event) {
      const audience = await audienceOf(event);
      const calls = routes.places.flatMap((reporter) => {
        const places = audience.filter((a) => reporter.kinds.includes(a.kind));
        return places.length
          ? [safely(reporter.kinds.join(','), event, () => reporter.report(event, places))]
          : [];
      });
      if (calls.length === 0) {
        const fallback = routes.bySource?.[event.task.request.origin.source] ?? routes.fallback;
        calls.push(safely('fallback', event, () => fallback.report(event)));
      }
      for (const observer of routes.observers ?? [])
        calls.push(safely('observer', event, () => observer.report(event)));
      await Promise.all(calls);
    },
  };
}
