import { z } from 'zod';
import type { KeyValueStore } from '../../domain/ports.js';

/** The autofix rounds in a row on one pull request: the last round's task and the commit it fixed. */
const Rounds = z.object({ rounds: z.number().int().nonnegative(), taskId: z.string(), fixed: z.string() });
type Rounds = z.infer<typeof Rounds>;

const TTL_SECONDS = 30 * 86_400;
const key = (repo: string, pull: number) => `autofix-rounds:${repo.toLowerCase()}#${pull}`;

/**
 * Counts the autofix rounds in a row of each pull request. A round follows the previous one only when
 * the failing commit is the previous round's result and sits right on the commit that round fixed;
 * a commit of another task (a person's request), or one replayed onto a person's push, starts the
 * count again. A person's comment or review on the pull request starts it again too (`reset`).
 */
export function createAutofixRounds(kv: KeyValueStore) {
  async function read(repo: string, pull: number): Promise<Rounds | null> {
    const raw = await kv.get(key(repo, pull));
    const parsed = raw ? Rounds.safeParse(JSON.parse(raw)) : null;
    return parsed?.success ? parsed.data : null;
  }

  return {
    /** Rounds already made before one for `commit` (made by `taskId`, on top of `parent`). */
    async before(repo: string, pull: number, commit: { taskId: string; parent: string | undefined }) {
      const last = await read(repo, pull);
      if (!last || last.taskId !== commit.taskId || last.fixed !== commit.parent) return 0;
      return last.rounds;
    },
    async record(repo: string, pull: number, round: { rounds: number; taskId: string; fixed: string }) {
      await kv.set(key(repo, pull), JSON.stringify(round), TTL_SECONDS);
    },
    async reset(repo: string, pull: number) {
      await kv.delete(key(repo, pull));
    },
  };
}
export type AutofixRounds = ReturnType<typeof createAutofixRounds>;
