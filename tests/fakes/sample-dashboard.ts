import type { TaskStatus } from '../../src/domain/task.js';
import type { TaskSource } from '../../src/domain/task-request.js';
import type { DashboardStats, SpendPoint } from '../../src/server/pages/view-models.js';
import { aTask, isoAgo, NOW, type PageData } from './page-data.js';

/** A month of an installation's life for the dashboard: tasks over three repositories, spend, failures. */

const INSTRUCTIONS = [
  'Keep the ?next= target after sign-in',
  'Bump eslint to 9 and fix what it flags',
  'The CSV export drops rows with a comma in the name',
  'Add retries with backoff to the webhook sender',
  'Make the settings page work on narrow screens',
  'Flaky test: billing/invoice.test.ts times out on CI',
  'Translate the onboarding emails to German',
  'Remove the unused feature flag new_checkout',
  'Rate-limit the password reset endpoint',
  'Show the build number in the footer',
  'Upgrade React Native to 0.79',
  'Cache the exchange rates for an hour',
];
const REPOS = ['acme/web', 'acme/api', 'acme/mobile'];
const SOURCES: TaskSource[] = ['slack', 'linear', 'github', 'api', 'slack'];
const REQUESTERS = ['maria', 'dev.kim', 'jonas', 'priya', 'sam'];
const STATUSES: TaskStatus[] = [
  'running',
  'succeeded',
  'succeeded',
  'failed',
  'queued',
  'succeeded',
  'waiting_for_input',
  'succeeded',
  'cancelled',
  'succeeded',
  'failed',
  'succeeded',
];

/** `count` tasks, newest first by id (`d01` is the newest), spread over repositories and sources. */
export function addSampleTasks(data: PageData, count: number): void {
  for (let i = 1; i <= count; i++) {
    const status = STATUSES[(i - 1) % STATUSES.length] as TaskStatus;
    const final = status === 'succeeded' || status === 'failed' || status === 'cancelled';
    const createdAt = isoAgo(i * 47 * 60_000);
    const steps = (i * 7) % 60;
    data.add(
      aTask(`d${String(i).padStart(2, '0')}`, {
        status,
        createdAt,
        steps,
        usage: {
          promptTokens: steps * 9_000,
          cachedTokens: steps * 7_000,
          completionTokens: steps * 300,
          usd: steps * 0.021,
          agentMs: steps * 9_000,
        },
        ...(final
          ? { finishedAt: new Date(Date.parse(createdAt) + (3 + (i % 9)) * 60_000).toISOString() }
          : {}),
        ...(status === 'succeeded' && i % 4 !== 0
          ? { pullRequest: { number: 400 + i, url: `https://github.com/${REPOS[i % 3]}/pull/${400 + i}` } }
          : {}),
        ...(status === 'failed'
          ? {
              error: {
                code: i % 2 ? 'checks_failed' : 'budget_exhausted',
                message: 'npm test failed (exit 1)',
              },
            }
          : {}),
        request: {
          repo: REPOS[i % 3] as string,
          instruction: INSTRUCTIONS[(i - 1) % INSTRUCTIONS.length] as string,
          origin: {
            source: SOURCES[i % SOURCES.length] as TaskSource,
            label: 'Slack #web-team thread',
            requester: REQUESTERS[i % REQUESTERS.length] as string,
          },
        },
      }),
    );
  }
}

/** Spend that varies from day to day (a fixed sequence, so the chart is the same on every run). */
function spendPoints(): SpendPoint[] {
  const points: SpendPoint[] = [];
  let seed = 7;
  const next = () => {
    seed = (seed * 48_271) % 2_147_483_647;
    return seed / 2_147_483_647;
  };
  for (let d = 29; d >= 0; d--) {
    const day = new Date(NOW - d * 86_400_000).toISOString().slice(0, 10);
    const weekend = [0, 6].includes(new Date(`${day}T12:00:00Z`).getUTCDay());
    REPOS.forEach((repo, r) => {
      const usd = weekend ? next() * 0.6 : (3 - r) * (0.8 + next() * 2.2);
      if (usd > 0.05) points.push({ day, repo, usd: Math.round(usd * 100) / 100 });
    });
  }
  return points;
}

export function sampleStats(): DashboardStats {
  return {
    running: 2,
    queued: 3,
    waitingForInput: 1,
    workersAlive: 2,
    queueWait: { medianMs: 8_400, p90Ms: 42_000 },
    spend: { days: 30, today: new Date(NOW).toISOString().slice(0, 10), points: spendPoints() },
    failures: [
      {
        code: 'checks_failed',
        count: 7,
        message: 'npm test failed after the agent finished (exit 1): 2 tests in billing/',
        lastTaskId: 'd04',
        lastAt: isoAgo(3 * 3_600_000),
      },
      {
        code: 'budget_exhausted',
        count: 4,
        message: 'Stopped after 100 steps: the step budget is 100.',
        lastTaskId: 'd11',
        lastAt: isoAgo(26 * 3_600_000),
      },
      {
        code: 'base_branch_missing',
        count: 2,
        message: 'The base branch release/2.3 does not exist in acme/mobile.',
        lastTaskId: 'd23',
        lastAt: isoAgo(5 * 86_400_000),
      },
    ],
  };
}
