import type { TaskPageUrl } from '../../config/task-page-links.js';
import type { PullRequestDraft, PullRequestHost } from '../../domain/ports.js';
import { renderPullRequestBody } from './pr-body.js';
import type { PullRequests } from './pull-requests.js';

/**
 * GitHub as the place a task's pull request lives: the draft rendered as GitHub markdown (linking the
 * task's page when Patchbay has a public URL), then published.
 */
export function createPullRequestHost(
  pulls: Pick<PullRequests, 'publish'>,
  pageUrl: TaskPageUrl = () => undefined,
): PullRequestHost {
  return {
    publish: (draft: PullRequestDraft) =>
      pulls.publish({
        repo: draft.repo,
        branch: draft.branch,
        base: draft.base,
        title: draft.title,
        draft: draft.draft,
        body: renderPullRequestBody({ ...draft, pageUrl: pageUrl(draft.taskId) }),
      }),
  };
}
