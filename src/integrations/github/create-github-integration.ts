import type { RepositoryRules } from '../../config/repository-rules.js';
import { createBackgroundWork } from '../../lib/background-work.js';
import type { HttpServer } from '../../server/http-server.js';
import type { Integration, IntegrationContext } from '../../server/integration.js';
import { clientFor, type GitHubClients } from './create-octokit.js';
import { createGitHubReporter } from './github-reporter.js';
import { createGitHubWebhookHandler } from './github-webhook-receiver.js';
import { handleReviewDelivery, type ReviewDeps } from './handle-review-delivery.js';
import { createPullRequests } from './pull-requests.js';
import { createReviewApi } from './review-api.js';
import { createWriteAccess } from './write-access.js';

export interface GitHubIntegrationDeps extends Omit<IntegrationContext, 'kv'> {
  /** `GITHUB_WEBHOOK_SECRET` */
  secret: string;
  /** For the webhook side: reads, permission look-ups and 👀. */
  clients: GitHubClients;
  /** For replies on the PR (the worker's clients, so that replies are spaced after its PR writes). */
  replyClients?: () => GitHubClients;
  /** The login Patchbay's PRs are authored by (`GET /user`, or `<slug>[bot]` for an App), cached. */
  botLogin: () => Promise<string>;
  repositories: RepositoryRules;
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
  const reviewDeps: ReviewDeps = {
    tasks: deps.tasks,
    repositories: deps.repositories,
    api,
    botLogin: deps.botLogin,
    mayWrite: createWriteAccess({ permission: api.permission, log }),
    background,
    log,
  };
  let serving = false;

  return {
    name: 'github',
    registerRoutes(server: HttpServer) {
      serving = true;
      const dispatch = (delivery: Parameters<typeof handleReviewDelivery>[1]) =>
        handleReviewDelivery(reviewDeps, delivery);
      server.route(
        'POST',
        '/github/webhook',
        createGitHubWebhookHandler({ secret: deps.secret, log, dispatch }),
      );
    },
    reporter,
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
