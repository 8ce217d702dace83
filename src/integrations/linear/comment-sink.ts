import type { KeyValueStore } from '../../domain/ports.js';
import type { TaskRecord } from '../../domain/task.js';
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
  let pending: string | undefined;
  let sent: string | undefined;
  let lastEditAt = 0;
  let timer: NodeJS.Timeout | undefined;
  let queued = false;

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
    sent = text;
    return false;
  }

  async function flush(): Promise<void> {
    queued = false;
    const text = pending;
    if (text === undefined || text === sent) return;
    lastEditAt = Date.now();
    if (!(await ensureComment(text))) return;
    if (!commentId) return;
    await api.updateComment(commentId, text);
    sent = text;
  }

  function schedule(): void {
    if (queued || timer) return;
    const wait = lastEditAt + deps.editIntervalMs - Date.now();
    const go = () => {
      timer = undefined;
      queued = true;
      void chain.run('progress comment', flush);
    };
    if (wait <= 0) {
      go();
      return;
    }
    timer = setTimeout(go, wait);
    timer.unref();
  }

  return {
    flush() {
      if (!timer) return;
      clearTimeout(timer);
      timer = undefined;
      void chain.run('progress comment', flush);
    },
    progress(event, stage) {
      pending = progressText(event.task, stage, event.type === 'step' ? event.step : undefined);
      schedule();
    },
    async end(event) {
      if (timer) clearTimeout(timer);
      timer = undefined;
      pending = endedText(event);
      void chain.run('progress comment', flush);
      const reply = resultText(event, deps.botHandle);
      if (!reply) return;
      await chain.run('result reply', async () => {
        if (!commentId) await ensureComment(pending ?? reply);
        const id = toPostId(deps.task, place, `reply:${event.type}`);
        await api.createComment({ issueId: deps.issueId, body: reply, parentId: commentId, id });
      });
    },
  };
}
