import type { Reporter } from '../domain/events.js';
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
