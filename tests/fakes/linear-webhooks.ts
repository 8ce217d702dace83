import { afterEach, expect } from 'vitest';
import { z } from 'zod';
import type { Script } from '../../src/demo/scripted-model.js';
import type { Clock } from '../../src/lib/clock.js';
import { type Harness, startHarness } from './harness.js';
import {
  type Body,
  LINEAR_API_KEY,
  LINEAR_OAUTH_APP,
  LINEAR_SECRET,
  LINEAR_TOKEN,
  pinLinearWorkspace,
  type SendOptions,
  sendLinearWebhook,
} from './linear-requests.js';
import { type LinearStandIn, startLinearStandIn } from './linear-stand-in.js';
import { eventually } from './slack-requests.js';

// The requests and fixtures need no test runner (bench/ uses them); the per-test set-up below does.
export * from './linear-requests.js';

/** An `agentActivityCreate` input as the stand-in recorded it; parsed, so that a changed shape fails. */
export const Activity = z
  .object({
    agentSessionId: z.string(),
    content: z
      .object({
        type: z.string(),
        body: z.string().optional(),
        action: z.string().optional(),
        parameter: z.string().optional(),
      })
      .loose(),
  })
  .loose();
export type Activity = z.infer<typeof Activity>;
const toActivity = (input: unknown): Activity => Activity.parse(input);

export interface LinearStartOptions {
  worker?: boolean;
  file?: Record<string, unknown>;
  /** More environment for Patchbay (another integration beside Linear). */
  env?: Record<string, string>;
  /** Which modes are on (default: agent only, with a fixed token; `oauth`: agent as an OAuth app). */
  modes?: { agent?: boolean; assignment?: boolean; oauth?: boolean };
  /** The clock the integration's own timers run on (StartOptions.clock); a test may hold it still. */
  clock?: Clock;
}

/**
 * Patchbay (the e2e harness) with Linear on against the schema-driven stand-in, one per test; closed
 * after it, and a request the stand-in did not expect fails the test.
 */
export function linearPerTest() {
  let h: Harness | undefined;
  let linear: LinearStandIn | undefined;
  afterEach(async () => {
    const unmatched = linear?.unmatched.map((c) => `${c.method} ${c.path}`) ?? [];
    await h?.close();
    await linear?.close();
    h = undefined;
    linear = undefined;
    expect(unmatched).toEqual([]);
  });
  return async (script: Script, opts: LinearStartOptions = {}) => {
    linear = await startLinearStandIn(modesOf(opts).oauth ? { client: LINEAR_OAUTH_APP } : {});
    pinLinearWorkspace(linear);
    const modes = modesOf(opts);
    h = await startHarness({
      script,
      worker: opts.worker,
      clock: opts.clock,
      env: {
        LINEAR_WEBHOOK_SECRET: LINEAR_SECRET,
        LINEAR_API_URL: linear.url,
        ...(modes.agent ? { LINEAR_ACCESS_TOKEN: LINEAR_TOKEN } : {}),
        ...(modes.assignment ? { LINEAR_API_KEY: LINEAR_API_KEY } : {}),
        ...(modes.oauth
          ? { LINEAR_CLIENT_ID: LINEAR_OAUTH_APP.id, LINEAR_CLIENT_SECRET: LINEAR_OAUTH_APP.secret }
          : {}),
        ...opts.env,
      },
      file: { linear: { teams: { ENG: 'acme/web' } }, ...opts.file },
    });
    return linearSession(h, linear);
  };
}

function modesOf(opts: LinearStartOptions) {
  return opts.modes ?? { agent: true };
}

function linearSession(h: Harness, linear: LinearStandIn) {
  const inputs = (name: string) =>
    linear.mutationsNamed(name).map((m) => m.variables as { id?: string; input: Record<string, unknown> });
  const activities = () => inputs('agentActivityCreate').map((m) => toActivity(m.input));
  return {
    h,
    linear,
    activities,
    inputs,
    send: (body: Body, o: SendOptions = {}) => sendLinearWebhook(h.base, body, o),
    /** The task id the nth thought in a session names. */
    async taskOf(sessionId: string, nth = 0) {
      const thought = await eventually(
        () => activities().filter((a) => a.agentSessionId === sessionId && a.content.type === 'thought')[nth],
        20_000,
        'thought',
      );
      return /task `(t[0-9a-z]+)`/.exec(thought.content.body ?? '')?.[1] ?? '';
    },
  };
}
export type LinearSession = ReturnType<typeof linearSession>;
