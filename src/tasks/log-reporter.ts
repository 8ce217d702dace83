import type { Reporter, TaskEvent } from '../domain/events.js';
import type { Logger } from '../lib/logger.js';

/** For requests with no chat to answer in (API, CLI): the task's progress goes to the log. */
export function createLogReporter(log: Logger): Reporter {
  return {
    async report(event) {
      const taskId = event.task.id;
      switch (event.type) {
        case 'step':
          log.debug({ taskId, step: event.step.step, tool: event.step.tool }, 'task step');
          return;
        case 'failed':
          log.info({ taskId, code: event.code }, 'task failed');
          return;
        case 'finished':
          log.info({ taskId, pr: event.pullRequest?.number }, 'task finished');
          return;
        default:
          log.info({ taskId, event: event.type }, 'task event');
      }
    },
  };
}

/**
 * Sends each event to the reporter of the task's source and, when the request names `alsoNotify`
 * (the conversation began elsewhere), to that source's reporter too, as if the task had come from
 * there: it reports in the original Slack thread or Linear issue unchanged. The echo is best effort.
 */
export function routeReporters(bySource: Partial<Record<string, Reporter>>, fallback: Reporter): Reporter {
  return {
    async report(event) {
      const { origin, alsoNotify } = event.task.request;
      const main = (bySource[origin.source] ?? fallback).report(event);
      const echo =
        alsoNotify && alsoNotify.source !== origin.source ? bySource[alsoNotify.source] : undefined;
      if (!echo || !alsoNotify) return main;
      const task = { ...event.task, request: { ...event.task.request, origin: alsoNotify } };
      await Promise.all([main, echo.report({ ...event, task } as TaskEvent)]);
    },
  };
}
