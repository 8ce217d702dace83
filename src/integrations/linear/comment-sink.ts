import type { KeyValueStore } from '../../domain/ports.js';
import type { TaskRecord } from '../../domain/task.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { createThrottledEdits } from '../../lib/throttled-edits.js';
import { endedText, progressText, resultText } from './comment-text.js';
import type { LinearApi } from './linear-api.js';
import type { CallChain, LinearSink } from './linear-sink.js';
import { targetKeys, toPostId } from './linear-targets.js';

const TTL_SECONDS = 30 * 86_400;

export interface CommentSinkDeps {
  issueId: string;
  task: TaskRecord;
  api: Pick<LinearApi, 'createComment' | 'updateComment'>;
  kv: KeyValueStore;
  chain: CallChain;
  /** At most one edit per this many ms; the latest text wins. */
  editIntervalMs: number;
  /** How long to wait for the comment the webhook handler is posting before posting one. */
  adoptWaitMs?: number;
  botHandle?: string;
  /** The clock edits are spaced by (default the system's). */
  clock?: Clock;
  log?: Logger;
  /** The task's page, linked from the progress comment. */
  pageUrl?: string;
}

/**
 * Assignment mode: one progress comment per run on the issue, edited in place at most every
 * `editIntervalMs` (the webhook handler posts it right after queueing; its id is in the key-value
 * store, so that any worker edits the same one), and at the end its final state plus the result in
 * a reply to it.
 */
export function createCommentSink(deps: CommentSinkDeps): LinearSink {
  const { chain, api } = deps;
  const key = targetKeys.progress(deps.task.id, deps.task.runs);
  const place = { kind: 'linear-issue', issueId: deps.issueId } as const;
  let commentId: string | undefined;

  /**
   * Makes sure there is a progress comment; false when it was just created with `text` (nothing to
   * edit). Waiting for the handler's comment is a wait for another process, so it is in real time.
   */
  async function ensureComment(text: string): Promise<boolean> {
    if (commentId) return true;
    const until = Date.now() + (deps.adoptWaitMs ?? 2_000);
    for (;;) {
      commentId = (await deps.kv.get(key)) ?? undefined;
      if (commentId || Date.now() >= until) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (commentId) return true;
    // The webhook handler's comment has this id too: if it lands late, this create is refused.
    const id = toPostId(deps.task, place, 'progress');
    commentId = await api.createComment({ issueId: deps.issueId, body: text, id });
    await deps.kv.set(key, commentId, TTL_SECONDS);
    return false;
  }

  const edits = createThrottledEdits({
    async send(text) {
      if (!(await ensureComment(text)) || !commentId) return;
      await api.updateComment(commentId, text);
    },
    enqueue: (work) => chain.run('progress comment', work),
    intervalMs: deps.editIntervalMs,
    clock: deps.clock,
    log: deps.log,
  });

  return {
    flush: () => edits.flushNow(),
    progress(event, stage) {
      edits.update(
        progressText(event.task, stage, event.type === 'step' ? event.step : undefined, deps.pageUrl),
      );
    },
    async end(event) {
      const ended = endedText(event);
      void edits.final(ended);
      const reply = resultText(event, deps.botHandle);
      if (!reply) return;
      await chain.run('result reply', async () => {
        if (!commentId) await ensureComment(ended);
        const id = toPostId(deps.task, place, `reply:${event.type}`);
        await api.createComment({ issueId: deps.issueId, body: reply, parentId: commentId, id });
      });
    },
  };
}
