import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { Script, ScriptedRequest } from '../../src/demo/scripted-model.js';
import { systemClock } from '../../src/lib/clock.js';
import { createRedisMetrics } from '../../src/queue/redis-metrics.js';
import { readDashboardStats } from '../../src/server/dashboard-stats.js';
import { postGitHubWebhook } from '../fakes/github-webhooks.js';
import { type Harness, isFinal, logged, startHarness } from '../fakes/harness.js';
import { REDIS_URL } from '../fakes/redis.js';
import { FIX_GREETING } from '../fakes/scripts.js';
import { eventually } from '../fakes/slack-requests.js';
import { exited, spawnWorker as spawnProcess } from '../fakes/worker-process.js';

let h: Harness | undefined;
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await h?.close();
  h = undefined;
});

const metricsToken = randomBytes(16).toString('hex');
/** USD per million tokens for the scripted model: each turn (1,000 prompt, 600 of them cached, 100 out) costs 0.00066. */
const pricing = { scripted: { input: 0.5, cached_input: 0.1, output: 1 } };

function spawnWorker(env: Record<string, string>): ChildProcess {
  const child = spawnProcess(env);
  children.push(child);
  return child;
}

function scrape(harness: Harness, token: string | null = metricsToken): Promise<Response> {
  return fetch(`${harness.base}/metrics`, {
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
}

/** Every sample of a Prometheus text exposition, keyed `name{label="value",…}` as written. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** Scrapes until `key` has `value`: the counts are written after the task's status, by another process. */
async function scrapeUntil(harness: Harness, key: string, value: number): Promise<Map<string, number>> {
  return eventually(
    async () => {
      const all = samples(await (await scrape(harness)).text());
      return all.get(key) === value ? all : null;
    },
    20_000,
    `${key} ${value}`,
  );
}

/** The dashboard's numbers read from the harness's Redis, as a server process reads them. */
async function dashboard(harness: Harness) {
  const redis = new Redis(REDIS_URL);
  try {
    const prefix = harness.workerProcessEnv.PATCHBAY_REDIS_PREFIX ?? '';
    const source = createRedisMetrics({
      redis,
      prefix,
      clock: systemClock,
      retentionDays: 1,
      jobCounts: async () => ({}),
    });
    return await readDashboardStats({ source, clock: systemClock });
  } finally {
    redis.disconnect();
  }
}

/** Plays FIX_GREETING by the run's own turn count, stalling for good once on its second turn. */
function stallOnce(): { script: Script; stalled: Promise<void> } {
  let stalledOnce = false;
  let signal: () => void = () => undefined;
  const stalled = new Promise<void>((resolve) => {
    signal = resolve;
  });
  const script = (req: ScriptedRequest) => {
    const turn = req.messages.filter((m) => (m as { role: string }).role === 'assistant').length;
    const next = FIX_GREETING[turn] ?? { content: 'done' };
    if (turn === 1 && !stalledOnce) {
      stalledOnce = true;
      signal();
      return { ...next, until: new Promise<void>(() => undefined) };
    }
    return next;
  };
  return { script, stalled };
}

describe('GET /metrics', () => {
  it('does not exist without PATCHBAY_METRICS_TOKEN, and start-up says so', async () => {
    h = await startHarness({ script: [], worker: false });

    const res = await scrape(h);

    expect(res.status).toBe(404);
    expect(logged(h, 'metrics off: PATCHBAY_METRICS_TOKEN is not set')).toHaveLength(1);
  });

  it("refuses a scrape without the token or with another one, and shows the queue and the process's metrics with it", async () => {
    h = await startHarness({ script: [], worker: false, env: { PATCHBAY_METRICS_TOKEN: metricsToken } });

    const without = await scrape(h, null);
    const wrong = await scrape(h, randomBytes(16).toString('hex'));
    const apiToken = await scrape(h, h.secrets.apiToken);
    const right = await scrape(h);
    const body = await right.text();

    expect([without.status, wrong.status, apiToken.status]).toEqual([401, 401, 401]);
    expect(await without.text()).not.toContain('patchbay_');
    expect(right.status).toBe(200);
    expect(right.headers.get('content-type')).toContain('text/plain');
    expect(samples(body).get('patchbay_queue_jobs{state="waiting"}')).toBe(0);
    expect(body).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(body).toContain('# TYPE patchbay_task_stage_seconds histogram');
    expect(logged(h, 'metrics on: GET /metrics')).toHaveLength(1);
  });

  it('times webhook deliveries by source', async () => {
    const secret = randomBytes(16).toString('hex');
    h = await startHarness({
      script: [],
      worker: false,
      env: { PATCHBAY_METRICS_TOKEN: metricsToken, GITHUB_WEBHOOK_SECRET: secret },
    });

    const ping = await postGitHubWebhook(h.base, secret, 'ping', {
      zen: 'Keep it logically awesome.',
      hook_id: 1,
    });
    const forged = await postGitHubWebhook(h.base, secret, 'ping', { zen: 'x' }, { signature: 'sha256=00' });
    const all = await scrapeUntil(h, 'patchbay_webhook_seconds_count{source="github"}', 2);

    expect([ping.status, forged.status]).toEqual([200, 401]);
    expect(all.get('patchbay_webhook_seconds_bucket{source="github",le="+Inf"}')).toBe(2);
    expect(all.get('patchbay_webhook_seconds_sum{source="github"}')).toBeGreaterThanOrEqual(0);
  });

  it("shows at the server what a worker in another process counted: tokens, cost, the task's end, its stages; and the worker's heartbeat", async () => {
    h = await startHarness({
      script: FIX_GREETING,
      worker: false,
      file: { pricing },
      env: { PATCHBAY_METRICS_TOKEN: metricsToken },
    });
    const child = spawnWorker(h.workerProcessEnv);
    const harness = h;
    const alive = await eventually(async () =>
      (await dashboard(harness)).workers.alive === 1 ? true : null,
    );

    const created = await h.createTask({ instruction: 'fix greet' });
    const task = await h.waitFor(created.body.id, isFinal, 60_000);
    const all = await scrapeUntil(h, 'patchbay_tasks_total{source="api",status="succeeded"}', 1);
    child.kill('SIGTERM');
    await exited(child);
    const afterGoodbye = await dashboard(h);

    expect(alive).toBe(true);
    expect(task.status).toBe('succeeded');
    expect(task.usage.promptTokens).toBe(FIX_GREETING.length * 1_000);
    expect(all.get('patchbay_model_tokens_total{model="scripted",kind="prompt"}')).toBe(
      task.usage.promptTokens,
    );
    expect(all.get('patchbay_model_tokens_total{model="scripted",kind="cached"}')).toBe(
      FIX_GREETING.length * 600,
    );
    expect(all.get('patchbay_model_tokens_total{model="scripted",kind="completion"}')).toBe(
      task.usage.completionTokens,
    );
    expect(all.get('patchbay_cost_usd_total{model="scripted",repository="acme/web"}')).toBeCloseTo(
      task.usage.usd ?? Number.NaN,
      9,
    );
    for (const stage of ['queued', 'clone', 'setup', 'agent', 'checks', 'pull_request'])
      expect({ stage, count: all.get(`patchbay_task_stage_seconds_count{stage="${stage}"}`) }).toEqual({
        stage,
        count: 1,
      });
    expect(afterGoodbye.workers.alive).toBe(0);
    expect(afterGoodbye.spend.byRepository).toEqual([
      { repository: 'acme/web', usd: expect.closeTo(task.usage.usd ?? 0, 6) },
    ]);
  });

  it('counts a task once when its worker is killed and another process finishes it', async () => {
    const { script, stalled } = stallOnce();
    h = await startHarness({
      script,
      worker: false,
      file: { pricing },
      env: { PATCHBAY_METRICS_TOKEN: metricsToken },
    });
    const first = spawnWorker(h.workerProcessEnv);
    const created = await h.createTask({ instruction: 'fix greet' });
    await stalled; // the first turn was counted by the first worker

    first.kill('SIGKILL');
    await exited(first);
    spawnWorker(h.workerProcessEnv);
    const task = await h.waitFor(created.body.id, isFinal, 60_000);
    const all = await scrapeUntil(h, 'patchbay_tasks_total{source="api",status="succeeded"}', 1);

    expect(task.attempts).toBe(2);
    // The second attempt reports the first one's turn again in its totals: counted once all the same.
    expect(task.usage.promptTokens).toBe((1 + FIX_GREETING.length) * 1_000);
    expect(all.get('patchbay_model_tokens_total{model="scripted",kind="prompt"}')).toBe(
      task.usage.promptTokens,
    );
    expect(all.get('patchbay_cost_usd_total{model="scripted",repository="acme/web"}')).toBeCloseTo(
      task.usage.usd ?? Number.NaN,
      9,
    );
    expect(all.get('patchbay_tasks_total{source="api",status="succeeded"}')).toBe(1);
    expect(all.get('patchbay_task_stage_seconds_count{stage="queued"}')).toBe(1);
    expect(all.get('patchbay_task_stage_seconds_count{stage="clone"}')).toBe(2);
  });
});
