import { buildGitHubAccess, type GitHubAccess } from './build-github-access.js';
import type { Config } from './config/load-config.js';
import { type RepositoryRules, toRepositoryRules } from './config/repository-rules.js';
import { type TaskPageUrl, toTaskPageUrl } from './config/task-page-links.js';
import type { TellPlaces } from './domain/events.js';
import type { KeyValueStore } from './domain/ports.js';
import type { WritePace } from './domain/write-pace.js';
import type { Alarms } from './integrations/github/handle-check-delivery.js';
import { readLinearSettings } from './integrations/linear/linear-settings.js';
import { readSlackSettings } from './integrations/slack/slack-settings.js';
import type { Clock } from './lib/clock.js';
import type { Logger } from './lib/logger.js';
import type { Integration, TaskServices } from './server/integration.js';

export interface IntegrationWiring {
  config: Config;
  tasks: TaskServices;
  /** The key-value store of one integration: its keys only. */
  kvFor: (integration: 'slack' | 'linear' | 'github') => KeyValueStore;
  /** Tells places of any integration something outside a task's run (built from the integrations). */
  tell: TellPlaces;
  /** Wakes an integration later, in a worker process; absent where alarms cannot be set. */
  alarmsFor?: (integration: string) => Alarms;
  /** Removes every configured secret and credential-shaped text (CI output on its way to a task). */
  redact: (text: string) => string;
  log: Logger;
  /** The clock the integrations' own timers run on (see StartOptions.clock). */
  clock?: Clock;
  /** GitHub's write pace shared by every process (Redis). */
  writePace?: WritePace;
}

/**
 * The integrations whose credentials are set; each says at start-up whether it is on. Each gets the
 * task use cases, its own key-value store and logger, its own credentials and its slice of
 * `patchbay.yml`: never the whole configuration. An integration's modules (and its SDK) are imported
 * only when it is on, so a process without Slack or Linear never loads their SDKs.
 */
export async function buildIntegrations(
  wiring: IntegrationWiring,
  githubAccess: () => GitHubAccess,
): Promise<Integration[]> {
  const { config, log } = wiring;
  const repositories = toRepositoryRules(config);
  const pageUrl = toTaskPageUrl(config.env.PATCHBAY_PUBLIC_URL);
  const integrations: Integration[] = [];
  const slack = await buildSlack(wiring, repositories, pageUrl);
  if (slack) integrations.push(slack);
  const linear = await buildLinear(wiring, repositories, pageUrl);
  if (linear) integrations.push(linear);
  const github = await buildGitHub(wiring, repositories, githubAccess);
  if (github) integrations.push(github);
  if (!slack) log.info('Slack off: SLACK_BOT_TOKEN is not set');
  return integrations;
}

async function buildSlack(
  wiring: IntegrationWiring,
  repositories: RepositoryRules,
  pageUrl: TaskPageUrl,
): Promise<Integration | undefined> {
  const { config } = wiring;
  const settings = readSlackSettings(config.env);
  if (!settings) return undefined;
  const { createSlackIntegration } = await import('./integrations/slack/create-slack-integration.js');
  const { createSlackClients } = await import('./integrations/slack/slack-client.js');
  const log = wiring.log.child({ integration: 'slack' });
  return createSlackIntegration({
    settings,
    rules: {
      repositories,
      slack: config.file.slack,
      budget: config.file.budget,
      retentionDays: config.file.retention_days,
      pageUrl,
    },
    clients: createSlackClients(settings, log),
    tasks: wiring.tasks,
    kv: wiring.kvFor('slack'),
    log,
    clock: wiring.clock,
  });
}

async function buildLinear(
  wiring: IntegrationWiring,
  repositories: RepositoryRules,
  pageUrl: TaskPageUrl,
): Promise<Integration | undefined> {
  const { config } = wiring;
  const settings = readLinearSettings(config.env);
  if ('off' in settings) {
    wiring.log.info(settings.off);
    return undefined;
  }
  const { createLinearIntegration } = await import('./integrations/linear/create-linear-integration.js');
  const { createLinearAgentInstall } = await import('./integrations/linear/linear-agent-install.js');
  const { createLinearClient } = await import('./integrations/linear/linear-api.js');
  const log = wiring.log.child({ integration: 'linear' });
  const kv = wiring.kvFor('linear');
  const { oauth, accessToken } = settings.agent ?? {};
  const install = oauth
    ? createLinearAgentInstall({
        ...oauth,
        apiUrl: settings.apiUrl,
        publicUrl: config.env.PATCHBAY_PUBLIC_URL,
        kv,
        log,
      })
    : undefined;
  if (oauth && config.env.LINEAR_ACCESS_TOKEN)
    log.info(
      'Linear agent runs as the OAuth app: LINEAR_CLIENT_ID is set, so LINEAR_ACCESS_TOKEN is not used',
    );
  const fixed = accessToken ? createLinearClient({ accessToken, apiUrl: settings.apiUrl }) : undefined;
  const apiKey = settings.assignment?.apiKey;
  return createLinearIntegration({
    settings,
    rules: { repositories, linear: config.file.linear, pageUrl },
    install,
    agentClientFor: install?.clientFor ?? (fixed ? async () => fixed : undefined),
    assignmentClient: apiKey ? createLinearClient({ apiKey, apiUrl: settings.apiUrl }) : undefined,
    tasks: wiring.tasks,
    kv,
    log,
    clock: wiring.clock,
  });
}

/** The review loop on Patchbay's pull requests: needs the webhook secret and GitHub credentials. */
async function buildGitHub(
  wiring: IntegrationWiring,
  repositories: RepositoryRules,
  githubAccess: () => GitHubAccess,
): Promise<Integration | undefined> {
  const { env } = wiring.config;
  if (!env.GITHUB_WEBHOOK_SECRET) {
    wiring.log.info('GitHub review loop off: GITHUB_WEBHOOK_SECRET is not set');
    return undefined;
  }
  if (!env.GITHUB_TOKEN && !env.GITHUB_APP_ID && !env.GITHUB_APP_PRIVATE_KEY) {
    wiring.log.info('GitHub review loop off: set GITHUB_APP_ID + GITHUB_APP_PRIVATE_KEY or GITHUB_TOKEN');
    return undefined;
  }
  // The webhook side has clients of its own (replies go through the worker's); both wait for the one
  // write pace, where the 👀 (a reaction) takes the next slot before the worker's waiting writes.
  const { clients, botLogin, permissionsFor } = buildGitHubAccess(env, wiring.log, wiring.writePace);
  const { createGitHubIntegration } = await import('./integrations/github/create-github-integration.js');
  return createGitHubIntegration({
    secret: env.GITHUB_WEBHOOK_SECRET,
    clients,
    replyClients: () => githubAccess().clients,
    botLogin,
    permissionsFor,
    repositories,
    tasks: wiring.tasks,
    kv: wiring.kvFor('github'),
    tell: wiring.tell,
    alarms: wiring.alarmsFor?.('github'),
    redact: wiring.redact,
    clock: wiring.clock,
    log: wiring.log.child({ integration: 'github' }),
  });
}
