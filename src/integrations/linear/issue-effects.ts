import type { TaskEvent } from '../../domain/events.js';
import type { KeyValueStore } from '../../domain/ports.js';
import type { Logger } from '../../lib/logger.js';
import type { IssueStates, LinearApi, WorkflowState } from './linear-api.js';
import type { CallChain } from './linear-sink.js';

const TTL_SECONDS = 30 * 86_400;
const REVIEW = /review/i;

/**
 * The state to move an issue to, or null: `started` when work begins, `review` when the pull request
 * opens. Only forward: never out of a completed or canceled state, never from review back to started;
 * only to states the team has (its first `started`-type state that is not a review state; for review,
 * a `started`-type state whose name says review, such as "In Review").
 */
export function nextState(issue: IssueStates, goal: 'started' | 'review'): WorkflowState | null {
  const states = [...(issue.team?.states.nodes ?? [])].sort((a, b) => (a.position ?? 0) - (b.position ?? 0));
  const current = issue.state;
  if (current && ['completed', 'canceled'].includes(current.type)) return null;
  const started = states.filter((s) => s.type === 'started');
  if (goal === 'started') {
    if (current && current.type === 'started') return null;
    return started.find((s) => !REVIEW.test(s.name)) ?? null;
  }
  const review = started.find((s) => REVIEW.test(s.name));
  if (!review || current?.id === review.id || (current && REVIEW.test(current.name))) return null;
  return review;
}

/**
 * What a run does to the issue itself, once per run and whichever places report it: the state moves
 * and the pull request attached as a link (once per pull request and issue).
 */
export function createIssueEffects(deps: {
  issueId: string;
  api: Pick<LinearApi, 'fetchIssueStates' | 'moveIssue' | 'attachUrl'>;
  kv: KeyValueStore;
  chain: CallChain;
  log: Logger;
}) {
  const { api, chain, issueId } = deps;

  async function move(goal: 'started' | 'review'): Promise<void> {
    const issue = await api.fetchIssueStates(issueId);
    const to = issue ? nextState(issue, goal) : null;
    if (!to) return;
    await api.moveIssue(issueId, to.id);
    deps.log.info({ issueId, state: to.name }, 'linear issue moved');
  }

  return {
    onEvent(event: TaskEvent): Promise<void> | undefined {
      if (event.type === 'started') return chain.run('issue state', () => move('started'));
      if (event.type !== 'finished' || !event.pullRequest) return undefined;
      const pr = event.pullRequest;
      const title = `Pull request #${pr.number}${event.task.title ? `: ${event.task.title}` : ''}`;
      void chain.run('attachment', async () => {
        const key = `attached:${issueId}:${pr.url}`;
        if (await deps.kv.get(key)) return;
        await api.attachUrl(issueId, pr.url, title.slice(0, 250));
        await deps.kv.set(key, '1', TTL_SECONDS);
      });
      return chain.run('issue state', () => move('review'));
    },
  };
}
