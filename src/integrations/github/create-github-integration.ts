import { z } from 'zod';
import type { RepositoryRules } from '../../config/repository-rules.js';
import type { TellPlaces } from '../../domain/events.js';
import { createBackgroundWork } from '../../lib/background-work.js';
import { type Clock, systemClock } from '../../lib/clock.js';
import type { HttpServer } from '../../server/http-server.js';
import type { Integration, IntegrationContext } from '../../server/integration.js';
import { createAutofixRounds } from './autofix-rounds.js';
import { createCheckApi } from './check-api.js';
import { CHECK_EVENTS } from './check-events.js';
import { clientFor, type GitHubClients } from './create-octokit.js';
import { createGitHubReporter } from './github-reporter.js';
import { createGitHubWebhookHandler, type GitHubDelivery } from './github-webhook-receiver.js';
import { type Alarms, type AutofixDeps, handleCheckDelivery, judgeCommit } from './handle-check-delivery.js';
import { handleReviewDelivery, type ReviewDeps } from './handle-review-delivery.js';
import { createPermissionNotice } from './permission-notice.js';
import { createPullRequests } from './pull-requests.js';
import { createResultCommits } from './result-commits.js';
import { createReviewApi } from './review-api.js';
import { createWriteAccess } from './write-access.js';

/** What an autofix alarm carries: the commit to look at again. */
const CommitToJudge = z.object({ repo: z.string(), sha: z.string(), branch: z.string() });

export interface GitHubIntegrationDeps extends IntegrationContext {
  /** `GITHUB_WEBHOOK_SECRET` */
  secret: string;
  /** For the webhook side: reads, permission look-ups and 👀. */
  clients: GitHubClients;
  /** For replies on the PR (the worker's clients, so that replies are spaced after its PR writes). */
  replyClients?: () => GitHubClients;
  /** The login Patchbay's PRs are authored by (`GET /user`, or `<slug>[bot]` for an App), cached. */
  botLogin: () => Promise<string>;
  repositories: RepositoryRules;
  /** Tells places of any integration (the pull request, where its conversation began). */
  tell: TellPlaces;
  /** Wakes this integration later (a commit's checks 10 minutes after its first failure). */
  alarms?: Alarms;
  /** Removes secrets from CI output before it reaches a task. */
  redact: (text: string) => string;
  /** With a GitHub App: what its installation granted it, to say what the autofix lacks. */
  permissionsFor?: (repo: string) => Promise<Record<string, string> | undefined>;
  clock?: Clock;
}

/**
 * GitHub as a trigger and a place to report: `POST /github/webhook` turns `@patchbay` comments and
 * reviews on Patchbay's own pull requests into follow-ups in the PR's conversation, and a reporter
 * answers on the PR from whichever worker runs them.
 */
export function createGitHubIntegration(deps: GitHubIntegrationDeps): Integration {
  const log = deps.log;
  const api = createReviewApi({ clients: deps.clients, log });
  const replyClients = deps.replyClients;
  const replies: GitHubClients = replyClients ? (repo) => clientFor(replyClients(), repo) : deps.clients;
  const reporter = createGitHubReporter({ pulls: createPullRequests({ octokit: replies, log }), log });
  const work = createBackgroundWork(log, 'github reaction failed');
  const background = work.run;
  const rounds = createAutofixRounds(deps.kv);
  const results = createResultCommits({ kv: deps.kv, log });
  const reviewDeps: ReviewDeps = {
    tasks: deps.tasks,
    repositories: deps.repositories,
    api,
    botLogin: deps.botLogin,
    mayWrite: createWriteAccess({ permission: api.permission, log }),
    background,
    log,
    onPersonActivity: (repo, pull) => rounds.reset(repo, pull),
  };
  const autofix: AutofixDeps = {
    tasks: deps.tasks,
    repositories: deps.repositories,
    checks: createCheckApi({ clients: deps.clients }),
    pulls: api,
    botLogin: deps.botLogin,
    results,
    rounds,
    permissions: createPermissionNotice({ permissionsFor: deps.permissionsFor, kv: deps.kv, log }),
    tell: deps.tell,
    alarms: deps.alarms,
    redact: deps.redact,
    kv: deps.kv,
    clock: deps.clock ?? systemClock,
    log,
  };
  let serving = false;

  return {
    name: 'github',
    registerRoutes(server: HttpServer) {
      serving = true;
      const dispatch = (delivery: GitHubDelivery) =>
        CHECK_EVENTS.has(delivery.event)
          ? handleCheckDelivery(autofix, delivery)
          : handleReviewDelivery(reviewDeps, delivery);
      server.route(
        'POST',
        '/github/webhook',
        createGitHubWebhookHandler({ secret: deps.secret, log, dispatch }),
      );
    },
    reporter,
    observer: results.observer,
    async wake(data) {
      await judgeCommit(autofix, CommitToJudge.parse(data), { via: 'alarm' });
    },
    async start() {
      if (!serving) return;
      try {
        log.info({ bot: await deps.botLogin() }, 'GitHub review loop on: webhooks at POST /github/webhook');
      } catch (err) {
        log.warn(
          { err: (err as Error).message },
          "GitHub review loop on, but Patchbay's own login could not be read yet; check the GitHub credentials",
        );
      }
    },
    async stop() {
      await work.settle(5_000);
    },
  };
}
