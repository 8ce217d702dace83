import type { EnvConfig } from '../../config/env-schema.js';
import { PatchbayError } from '../../domain/errors.js';

export interface LinearSettings {
  /** Every webhook's `Linear-Signature` is checked with it. */
  webhookSecret: string;
  /** GraphQL endpoint (`LinearClient` `apiUrl`). */
  apiUrl: string;
  /**
   * Agent mode (delegation and mentions of the Linear agent, `AgentSessionEvent`s). `accessToken` is
   * the fixed development token; without it the OAuth install's tokens would be used.
   */
  agent?: { accessToken?: string };
  /** Assignment mode: the API key of a user that stands for the bot. */
  assignment?: { apiKey: string };
}

/**
 * Linear is on when `LINEAR_WEBHOOK_SECRET` and at least one mode's credential are set:
 * `LINEAR_ACCESS_TOKEN` (agent mode) and/or `LINEAR_API_KEY` (assignment mode). A credential without
 * the secret, or the secret alone, is a start-up error naming what is missing (never a value).
 * Returns the reason when Linear is off.
 */
export function readLinearSettings(env: EnvConfig): LinearSettings | { off: string } {
  const secret = env.LINEAR_WEBHOOK_SECRET;
  const token = env.LINEAR_ACCESS_TOKEN;
  const apiKey = env.LINEAR_API_KEY;
  if (!secret && !token && !apiKey) {
    return {
      off: env.LINEAR_CLIENT_ID
        ? 'Linear off: the OAuth install is not built yet; set LINEAR_WEBHOOK_SECRET with LINEAR_ACCESS_TOKEN or LINEAR_API_KEY'
        : 'Linear off: LINEAR_WEBHOOK_SECRET is not set',
    };
  }
  if (!secret) {
    throw new PatchbayError('invalid_config', 'environment variable LINEAR_WEBHOOK_SECRET is missing', {
      hint: 'set LINEAR_WEBHOOK_SECRET to the signing secret of the Linear webhook (see docs/linear.md)',
    });
  }
  if (!token && !apiKey) {
    throw new PatchbayError('invalid_config', 'Linear needs LINEAR_ACCESS_TOKEN or LINEAR_API_KEY', {
      hint: "set LINEAR_ACCESS_TOKEN to the Linear agent's access token (actor=app), or LINEAR_API_KEY to the API key of the bot user (assignment mode); see docs/linear.md",
    });
  }
  return {
    webhookSecret: secret,
    apiUrl: env.LINEAR_API_URL,
    ...(token ? { agent: { accessToken: token } } : {}),
    ...(apiKey ? { assignment: { apiKey } } : {}),
  };
}
