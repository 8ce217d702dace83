import { buildGitHubAccess, type GitHubAccess } from './build-worker-deps.js';
import { createGitHubIntegration } from './integrations/github/create-github-integration.js';
import { createLinearIntegration } from './integrations/linear/create-linear-integration.js';
import { createLinearAgentInstall } from './integrations/linear/linear-agent-install.js';
import { createLinearClient } from './integrations/linear/linear-api.js';
import { readLinearSettings } from './integrations/linear/linear-settings.js';
import { createSlackIntegration } from './integrations/slack/create-slack-integration.js';
import { createSlackClients } from './integrations/slack/slack-client.js';
import { readSlackSettings } from './integrations/slack/slack-settings.js';
import type { Clock } from './lib/clock.js';
import type { Integration, TaskServices } from './server/integration.js';

/**
 * The integrations whose credentials are set; each says at start-up whether it is on. Their own
 * timers run on `clock` (see StartOptions).
 */
export function buildIntegrations(
  services: TaskServices,
  githubAccess: () => GitHubAccess,
  clock?: Clock,
): Integration[] {
  const integrations: Integration[] = [];
  const slack = readSlackSettings(services.config.env);
  if (slack) {
    const clients = createSlackClients(slack, services.log);
    integrations.push(createSlackIntegration({ settings: slack, clients, services, clock }));
  } else services.log.info('Slack off: SLACK_BOT_TOKEN is not set');
  const linear = readLinearSettings(services.config.env);
  if ('off' in linear) services.log.info(linear.off);
  else {
    const { oauth, accessToken } = linear.agent ?? {};
    const install = oauth
      ? createLinearAgentInstall({
          ...oauth,
          apiUrl: linear.apiUrl,
          publicUrl: services.config.env.PATCHBAY_PUBLIC_URL,
          kv: services.kv,
          log: services.log,
        })
      : undefined;
    if (oauth && services.config.env.LINEAR_ACCESS_TOKEN)
      services.log.info(
        'Linear agent runs as the OAuth app: LINEAR_CLIENT_ID is set, so LINEAR_ACCESS_TOKEN is not used',
      );
    const fixed = accessToken ? createLinearClient({ accessToken, apiUrl: linear.apiUrl }) : undefined;
    const apiKey = linear.assignment?.apiKey;
    integrations.push(
      createLinearIntegration({
        settings: linear,
        install,
        agentClientFor: install?.clientFor ?? (fixed ? async () => fixed : undefined),
        assignmentClient: apiKey ? createLinearClient({ apiKey, apiUrl: linear.apiUrl }) : undefined,
        services,
        clock,
      }),
    );
  }
  const github = buildGitHubIntegration(services, githubAccess);
  if (github) integrations.push(github);
  return integrations;
}

/** The review loop on Patchbay's pull requests: needs the webhook secret and GitHub credentials. */
function buildGitHubIntegration(
  services: TaskServices,
  githubAccess: () => GitHubAccess,
): Integration | undefined {
  const env = services.config.env;
  if (!env.GITHUB_WEBHOOK_SECRET) {
    services.log.info('GitHub review loop off: GITHUB_WEBHOOK_SECRET is not set');
    return undefined;
  }
  if (!env.GITHUB_TOKEN && !env.GITHUB_APP_ID && !env.GITHUB_APP_PRIVATE_KEY) {
    services.log.info('GitHub review loop off: set GITHUB_APP_ID + GITHUB_APP_PRIVATE_KEY or GITHUB_TOKEN');
    return undefined;
  }
  // The webhook side has clients of its own: Octokit spaces writes per client (1–3 s), and a 👀 must
  // not wait behind the worker's pushes and PR updates. Replies go through the worker's clients.
  const { clients, botLogin } = buildGitHubAccess(env, services.log);
  const secret = env.GITHUB_WEBHOOK_SECRET;
  return createGitHubIntegration({
    secret,
    clients,
    replyClients: () => githubAccess().clients,
    botLogin,
    services,
  });
}
