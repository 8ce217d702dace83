import type { EnvConfig } from '../../config/env-schema.js';
import type { FileConfig } from '../../config/file-schema.js';
import type { RepositoryRules } from '../../config/repository-rules.js';
import type { TaskPageUrl } from '../../config/task-page-links.js';
import { PatchbayError } from '../../domain/errors.js';

/** What Linear's handlers need of `patchbay.yml`. */
export interface LinearRules {
  repositories: RepositoryRules;
  linear: FileConfig['linear'];
  /** Links sessions and progress comments to the task's page. */
  pageUrl?: TaskPageUrl;
}

export interface LinearSettings {
  /** Every webhook's `Linear-Signature` is checked with it. */
  webhookSecret: string;
  /** GraphQL endpoint (`LinearClient` `apiUrl`). */
  apiUrl: string;
  /**
   * Agent mode (delegation and mentions of the Linear agent, `AgentSessionEvent`s): the OAuth app
   * installed through `/linear/oauth/*` (`oauth`), or a fixed development token (`accessToken`).
   */
  agent?: { oauth?: { clientId: string; clientSecret: string }; accessToken?: string };
  /** Assignment mode: the API key of a user that stands for the bot. */
  assignment?: { apiKey: string };
}

/**
 * Linear is on when `LINEAR_WEBHOOK_SECRET` and at least one mode's credential are set: the OAuth
 * app (`LINEAR_CLIENT_ID` + `LINEAR_CLIENT_SECRET`) or `LINEAR_ACCESS_TOKEN` for agent mode, and/or
 * `LINEAR_API_KEY` for assignment mode. A credential without the secret, half an OAuth app, or the
 * secret alone, is a start-up error naming what is missing (never a value). The OAuth app wins over
 * a fixed token. Returns the reason when Linear is off.
 */
export function readLinearSettings(env: EnvConfig): LinearSettings | { off: string } {
  const secret = env.LINEAR_WEBHOOK_SECRET;
  const oauth = readOAuthApp(env);
  const token = oauth ? undefined : env.LINEAR_ACCESS_TOKEN;
  const apiKey = env.LINEAR_API_KEY;
  if (!secret && !token && !apiKey && !oauth) return { off: 'Linear off: LINEAR_WEBHOOK_SECRET is not set' };
  if (!secret) {
    throw new PatchbayError('invalid_config', 'environment variable LINEAR_WEBHOOK_SECRET is missing', {
      hint: 'set LINEAR_WEBHOOK_SECRET to the signing secret of the Linear webhook (see docs/linear.md)',
    });
  }
  if (!token && !apiKey && !oauth) {
    throw new PatchbayError(
      'invalid_config',
      'Linear needs LINEAR_CLIENT_ID, LINEAR_ACCESS_TOKEN or LINEAR_API_KEY',
      {
        hint: "set LINEAR_CLIENT_ID and LINEAR_CLIENT_SECRET (the Linear agent's OAuth app), LINEAR_ACCESS_TOKEN (a fixed agent token, development), or LINEAR_API_KEY (the bot user's key, assignment mode); see docs/linear.md",
      },
    );
  }
  return {
    webhookSecret: secret,
    apiUrl: env.LINEAR_API_URL,
    ...(oauth ? { agent: { oauth } } : token ? { agent: { accessToken: token } } : {}),
    ...(apiKey ? { assignment: { apiKey } } : {}),
  };
}

function readOAuthApp(env: EnvConfig): { clientId: string; clientSecret: string } | undefined {
  const { LINEAR_CLIENT_ID: clientId, LINEAR_CLIENT_SECRET: clientSecret } = env;
  if (!clientId && !clientSecret) return undefined;
  if (!clientId || !clientSecret) {
    const missing = clientId ? 'LINEAR_CLIENT_SECRET' : 'LINEAR_CLIENT_ID';
    throw new PatchbayError('invalid_config', `the Linear OAuth app needs ${missing} too`, {
      hint: "set both LINEAR_CLIENT_ID and LINEAR_CLIENT_SECRET from the Linear app's settings, or neither",
    });
  }
  return { clientId, clientSecret };
}
