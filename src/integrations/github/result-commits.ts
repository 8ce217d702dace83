import { z } from 'zod';
import type { Reporter } from '../../domain/events.js';
import type { KeyValueStore } from '../../domain/ports.js';
import type { Logger } from '../../lib/logger.js';

/** A commit Patchbay pushed as the result of a task, and where. */
export const ResultCommit = z.object({
  taskId: z.string(),
  conversation: z.string(),
  pull: z.number().int().positive(),
});
export type ResultCommit = z.infer<typeof ResultCommit>;

const TTL_SECONDS = 30 * 86_400;
const key = (repo: string, sha: string) => `result:${repo.toLowerCase()}:${sha}`;

/** The trailer every commit Patchbay makes carries (tasks/publish-changes.ts). */
export const TASK_TRAILER = /^Patchbay-Task: (\S+)\s*$/gm;

/**
 * Which commits Patchbay pushed as a task's result: the commit of a `finished` event that opened or
 * updated a pull request (publishChanges), remembered by an observer of every task's events. Work
 * in progress pushed at a question, or kept so that another worker can resume it, never comes
 * through a `finished` event, so it is never recorded: the autofix recognises results positively.
 */
export function createResultCommits(deps: { kv: KeyValueStore; log: Logger }) {
  const observer: Reporter = {
    async report(event) {
      if (event.type !== 'finished' || !event.commit || !event.pullRequest) return;
      const { repo } = event.task.request;
      const record: ResultCommit = {
        taskId: event.task.id,
        conversation: event.task.conversation,
        pull: event.pullRequest.number,
      };
      await deps.kv.set(key(repo, event.commit.sha), JSON.stringify(record), TTL_SECONDS);
      deps.log.info({ taskId: record.taskId, repo, sha: event.commit.sha }, 'result commit recorded');
    },
  };

  async function find(repo: string, sha: string): Promise<ResultCommit | null> {
    const raw = await deps.kv.get(key(repo, sha));
    if (!raw) return null;
    const parsed = ResultCommit.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  }

  return { observer, find };
}
export type ResultCommits = ReturnType<typeof createResultCommits>;

/**
 * Whether a commit's message says it is the result of `taskId`: its `Patchbay-Task` trailer names
 * the task, it is not kept work in progress (trailer `Patchbay-Kept-Work`), and it does not ask CI to
 * skip it (`[skip ci]`, as kept work does too).
 */
export function isResultMessage(message: string, taskId: string): boolean {
  if (/\[(?:skip ci|ci skip|no ci|skip actions|actions skip)\]/i.test(message)) return false;
  if (/^Patchbay-Kept-Work:/m.test(message)) return false;
  // The last one: trailers end the message, and the summary above them is the model's text.
  return [...message.matchAll(TASK_TRAILER)].at(-1)?.[1] === taskId;
}
