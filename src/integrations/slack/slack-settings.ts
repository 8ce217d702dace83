import type { EnvConfig } from '../../config/env-schema.js';
import type { FileConfig } from '../../config/file-schema.js';
import type { RepositoryRules } from '../../config/repository-rules.js';
import type { TaskPageUrl } from '../../config/task-page-links.js';
import { PatchbayError } from '../../domain/errors.js';

/** What Slack's handlers and reporter need of `patchbay.yml`. */
export interface SlackRules {
  repositories: RepositoryRules;
  slack: FileConfig['slack'];
  budget: FileConfig['budget'];
  retentionDays: number;
  /** Links status messages to the task's page. */
  pageUrl?: TaskPageUrl;
}

export interface SlackSettings {
  botToken: string;
  /** HTTP mode: every request's signature is checked with it. */
  signingSecret: string | undefined;
  /** Socket Mode when set: events come over a websocket, no public URL needed. */
  appToken: string | undefined;
  /** Web API base, always ending in `/` (the client appends method names). */
  apiUrl: string;
  /** The host reaches the internet through a proxy (`HTTPS_PROXY` or `HTTP_PROXY`). */
  proxied: boolean;
}

/**
 * Slack is on when `SLACK_BOT_TOKEN` is set. HTTP mode needs the signing secret, Socket Mode the app
 * token; a bot token with neither is a start-up error that names what is missing (never a value).
 */
export function readSlackSettings(env: EnvConfig): SlackSettings | null {
  if (!env.SLACK_BOT_TOKEN) {
    if (env.SLACK_SIGNING_SECRET || env.SLACK_APP_TOKEN) {
      throw new PatchbayError('invalid_config', 'environment variable SLACK_BOT_TOKEN is missing', {
        hint: "set SLACK_BOT_TOKEN to the app's Bot User OAuth Token (xoxb-…), or unset the other SLACK_ variables",
      });
    }
    return null;
  }
  if (!env.SLACK_SIGNING_SECRET && !env.SLACK_APP_TOKEN) {
    throw new PatchbayError('invalid_config', 'environment variable SLACK_SIGNING_SECRET is missing', {
      hint: "set SLACK_SIGNING_SECRET (the app's Basic Information page) for HTTP mode, or SLACK_APP_TOKEN (xapp-…) for Socket Mode",
    });
  }
  return {
    botToken: env.SLACK_BOT_TOKEN,
    signingSecret: env.SLACK_SIGNING_SECRET,
    appToken: env.SLACK_APP_TOKEN,
    apiUrl: env.SLACK_API_URL.endsWith('/') ? env.SLACK_API_URL : `${env.SLACK_API_URL}/`,
    proxied: Boolean(env.HTTPS_PROXY || env.HTTP_PROXY),
  };
}
