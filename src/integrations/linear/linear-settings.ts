import type { EnvConfig } from '../../config/env-schema.js';
import { PatchbayError } from '../../domain/errors.js';

export interface LinearSettings {
  /** Every webhook's `Linear-Signature` is checked with it. */
  webhookSecret: string;
  /** The agent's token (`actor=app`); the OAuth install that would mint and refresh one is not built yet. */
  accessToken: string;
  /** GraphQL endpoint (`LinearClient` `apiUrl`). */
  apiUrl: string;
}

/**
 * Linear is on when `LINEAR_WEBHOOK_SECRET` and `LINEAR_ACCESS_TOKEN` are set. One without the other
 * is a start-up error naming what is missing (never a value). Returns the reason when it is off.
 */
export function readLinearSettings(env: EnvConfig): LinearSettings | { off: string } {
  const secret = env.LINEAR_WEBHOOK_SECRET;
  const token = env.LINEAR_ACCESS_TOKEN;
  if (!secret && !token) {
    const other = env.LINEAR_CLIENT_ID || env.LINEAR_API_KEY;
    return {
      off: other
        ? 'Linear off: the OAuth install and API-key mode are not built yet; set LINEAR_WEBHOOK_SECRET and LINEAR_ACCESS_TOKEN'
        : 'Linear off: LINEAR_WEBHOOK_SECRET is not set',
    };
  }
  if (!secret) {
    throw new PatchbayError('invalid_config', 'environment variable LINEAR_WEBHOOK_SECRET is missing', {
      hint: "set LINEAR_WEBHOOK_SECRET to the signing secret of the Linear app's webhook",
    });
  }
  if (!token) {
    throw new PatchbayError('invalid_config', 'environment variable LINEAR_ACCESS_TOKEN is missing', {
      hint: "set LINEAR_ACCESS_TOKEN to the Linear agent's access token (actor=app); see docs/linear.md",
    });
  }
  return { webhookSecret: secret, accessToken: token, apiUrl: env.LINEAR_API_URL };
}
