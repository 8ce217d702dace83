import type { TellPlaces } from '../../domain/events.js';
import type { GitHubPullAddress, ReplyAddress } from '../../domain/reply-address.js';
import type { Logger } from '../../lib/logger.js';
import type { TaskServices } from '../../server/integration.js';
import type { AutofixRounds } from './autofix-rounds.js';
import type { CheckApi } from './check-api.js';
import type { ChecksSoFar } from './check-verdict.js';
import { gatherFailureDetails, renderFailureExcerpt } from './failure-excerpt.js';
import type { PermissionNotice } from './permission-notice.js';
import { isResultMessage, type ResultCommit } from './result-commits.js';
import type { ReviewApi } from './review-api.js';
import { checkPatchbayPull } from './review-rules.js';

export const AUTOFIX_INSTRUCTION =
  'Make the failing checks pass. Which checks failed, and an excerpt of each failure, are in the context.';

export interface AutofixStartDeps {
  tasks: Pick<TaskServices, 'submit' | 'conversations'>;
  checks: Pick<CheckApi, 'commit' | 'annotations' | 'job'>;
  pulls: Pick<ReviewApi, 'getPull'>;
  botLogin: () => Promise<string>;
  rounds: AutofixRounds;
  permissions: Pick<PermissionNotice, 'refused'>;
  tell: TellPlaces;
  /** Removes secrets from CI output before it reaches a task (logs can carry unmasked ones). */
  redact: (text: string) => string;
  log: Logger;
}

/** What became of a commit whose checks failed. */
export type AutofixStart =
  | { kind: 'queued'; taskId: string; round: number }
  | { kind: 'gave_up'; rounds: number }
  | { kind: 'skipped'; reason: string; again?: boolean };

/**
 * The failing commit is a result Patchbay pushed on its own open pull request, still its head (no
 * person pushed after it), with no task of the conversation under way: a follow-up in the
 * conversation fixes the checks, with their failures as untrusted context, unless the rounds in a row
 * reached `maxRounds`. The pull request and the place the conversation began are told either way.
 * `again` on a skip: the commit may be looked at later.
 */
export async function startAutofix(
  deps: AutofixStartDeps,
  target: { repo: string; sha: string; result: ResultCommit; checks: ChecksSoFar; maxRounds: number },
): Promise<AutofixStart> {
  const { repo, sha, result } = target;
  const pull = await deps.pulls.getPull(repo, result.pull);
  const own = checkPatchbayPull(pull, repo, await deps.botLogin());
  if ('reason' in own) return { kind: 'skipped', reason: own.reason };
  if (pull.head.sha !== sha) return { kind: 'skipped', reason: 'the pull request moved on from this commit' };
  const commit = await deps.checks.commit(repo, sha);
  if (!isResultMessage(commit.message, result.taskId))
    return { kind: 'skipped', reason: 'the commit does not read as the result of its task' };
  const { conversations } = deps.tasks;
  const state = await conversations.stored(result.conversation);
  if (state?.pullRequest?.number !== pull.number)
    return { kind: 'skipped', reason: 'the conversation works on another pull request' };
  if (await conversations.activeTask(result.conversation))
    return { kind: 'skipped', reason: 'a task of the conversation is not over yet', again: true };

  const pr: GitHubPullAddress = { kind: 'github-pull', repo, number: pull.number };
  const places: ReplyAddress[] =
    state.beganIn && state.beganIn.kind !== 'github-pull' ? [pr, state.beganIn] : [pr];
  const before = await deps.rounds.before(repo, pull.number, {
    taskId: result.taskId,
    parent: commit.parents[0],
  });
  const names = describeFailed(target.checks);
  if (before >= target.maxRounds) {
    await deps.tell(
      places,
      `⏹ Checks still fail on \`${sha.slice(0, 7)}\` of PR #${pull.number} (${names}) after ${before} automatic ` +
        `${before === 1 ? 'round' : 'rounds'} of fixes: Patchbay stops here. Comment \`@patchbay\` on the pull request to have it try again.`,
    );
    deps.log.info({ pr: pull.number, rounds: before }, 'autofix gave up');
    return { kind: 'gave_up', rounds: before };
  }
  const details = await gatherFailureDetails(deps.checks, repo, target.checks.failed, (err) => {
    void deps.permissions.refused(err.permission);
  });
  const { task, kind } = await deps.tasks.submit({
    repo,
    conversation: result.conversation,
    instruction: AUTOFIX_INSTRUCTION,
    context: renderFailureExcerpt({ pull: pull.number, sha, details }, deps.redact),
    origin: {
      source: 'github',
      automation: 'autofix',
      label: `Autofix: failing checks on ${repo}#${pull.number}`.slice(0, 200),
      url: /^https?:\/\//.test(pull.html_url) ? pull.html_url : undefined,
    },
    replyTo: pr,
    deliveryId: `github:autofix:${repo.toLowerCase()}:${sha}`,
  });
  const round = before + 1;
  await deps.rounds.record(repo, pull.number, { rounds: round, taskId: task.id, fixed: sha });
  if (kind !== 'duplicate') {
    await deps.tell(
      places,
      `🔧 Checks failed on \`${sha.slice(0, 7)}\` of PR #${pull.number} (${names}): Patchbay is working on a fix, ` +
        `round ${round} of ${target.maxRounds}.`,
    );
  }
  deps.log.info({ taskId: task.id, kind, pr: pull.number, round }, 'autofix follow-up queued');
  return { kind: 'queued', taskId: task.id, round };
}

/** The failing checks' names for a notice: untrusted, so only plain characters, a few of them. */
function describeFailed(checks: ChecksSoFar): string {
  const names = checks.failed.map(
    (f) =>
      f.name
        .replace(/[^\w ./:()-]+/g, ' ')
        .trim()
        .slice(0, 60) || 'a check',
  );
  const shown = names.slice(0, 5).join(', ');
  return names.length > 5 ? `${shown} and ${names.length - 5} more` : shown;
}
