/**
 * How soon each trigger answers and shows a sign of life, through the real server and queue with the
 * stand-ins on loopback: a Slack mention → 2xx, 👀 and the first reply; a Linear agent session →
 * 2xx and its first activity; an @patchbay comment on Patchbay's pull request → 2xx and 👀. The
 * end-to-end tests check the order of these (👀 before the reply, a thought before anything else);
 * the times are measured here. Consecutive 👀 on one pull request are spaced by Octokit's throttling
 * of writes (about 1 s), so the GitHub 👀 median is that spacing, not the first 👀's latency. Run
 * with `npx tsx bench/webhooks.ts`.
 */

import { githubEvent, postGitHubWebhook } from '../tests/fakes/github-webhooks.js';
import { isFinal, startHarness } from '../tests/fakes/harness.js';
import {
  LINEAR_SECRET,
  LINEAR_TOKEN,
  pinLinearWorkspace,
  sendLinearWebhook,
  sessionCreated,
} from '../tests/fakes/linear-requests.js';
import { startLinearStandIn } from '../tests/fakes/linear-stand-in.js';
import { FIX_GREETING } from '../tests/fakes/scripts.js';
import { nextTs, postToSlackEvents, slackEvent } from '../tests/fakes/slack-requests.js';
import { startSlackStandIn } from '../tests/fakes/slack-stand-in.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const SLACK_SECRET = 'bench-signing-secret-0123456789abcdef';
const GITHUB_SECRET = 'bench-github-webhook-secret-0123456789';

type Rows = Record<string, number[]>;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)] ?? Number.NaN;

/** When `check` first holds, in ms since the epoch (checked every 2 ms; gives up after 20 s). */
async function firstSeen(check: () => unknown): Promise<number> {
  const until = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > until) throw new Error('not seen within 20 s');
    await new Promise((r) => setTimeout(r, 2));
  }
  return Date.now();
}

async function slack(rows: Rows): Promise<void> {
  const stand = await startSlackStandIn({ botUserId: 'UPATCHBOT', channels: { C0GENERAL: 'general' } });
  const env = { SLACK_BOT_TOKEN: stand.token, SLACK_SIGNING_SECRET: SLACK_SECRET, SLACK_API_URL: stand.url };
  const h = await startHarness({ script: [], worker: false, env });
  try {
    for (let i = 0; i < RUNS; i++) {
      const ts = nextTs();
      const body = slackEvent('app_mention_channel', { text: '<@UPATCHBOT> fix greet in acme/web', ts });
      const t0 = Date.now();
      await postToSlackEvents(h.base, SLACK_SECRET, body);
      rows['Slack mention → 2xx']?.push(Date.now() - t0);
      const eyes = await firstSeen(() => stand.callsTo('reactions.add').find((c) => c.args.timestamp === ts));
      const reply = await firstSeen(() =>
        stand.callsTo('chat.postMessage').find((c) => c.args.thread_ts === ts),
      );
      rows['Slack mention → 👀']?.push(eyes - t0);
      rows['Slack mention → first reply']?.push(reply - t0);
    }
  } finally {
    await h.close();
    await stand.close();
  }
}

async function linear(rows: Rows): Promise<void> {
  const stand = await startLinearStandIn();
  pinLinearWorkspace(stand);
  const env = {
    LINEAR_WEBHOOK_SECRET: LINEAR_SECRET,
    LINEAR_API_URL: stand.url,
    LINEAR_ACCESS_TOKEN: LINEAR_TOKEN,
  };
  const file = { linear: { teams: { ENG: 'acme/web' } } };
  const h = await startHarness({ script: [], worker: false, env, file });
  const activityIn = (sessionId: string) =>
    stand
      .mutationsNamed('agentActivityCreate')
      .some((m) => (m.variables.input as { agentSessionId?: string }).agentSessionId === sessionId);
  try {
    for (let i = 0; i < RUNS; i++) {
      const issue = { id: `issue-bench-${i}`, identifier: `ENG-${500 + i}`, teamKey: 'ENG' };
      stand.pin('Issue', issue.id, {
        identifier: issue.identifier,
        title: 'Fix greet',
        team: { id: 'team-1' },
      });
      const sessionId = `session-bench-${i}`;
      const t0 = Date.now();
      await sendLinearWebhook(h.base, sessionCreated(sessionId, issue));
      rows['Linear session → 2xx']?.push(Date.now() - t0);
      rows['Linear session → first activity']?.push((await firstSeen(() => activityIn(sessionId))) - t0);
    }
  } finally {
    await h.close();
    await stand.close();
  }
}

async function github(rows: Rows): Promise<void> {
  const h = await startHarness({
    // The first task opens the pull request; every follow-up finishes at once without a change.
    script: (_req, turn) =>
      FIX_GREETING[turn] ?? {
        tool: 'finish',
        args: { title: 'Nothing more', summary: 'Nothing to change.' },
      },
    env: { GITHUB_WEBHOOK_SECRET: GITHUB_SECRET },
  });
  try {
    h.github.setPermission('alice', 'write');
    const created = await h.createTask({ instruction: 'greet() is missing a comma' });
    const task = await h.waitFor(created.body.id, isFinal, 60_000);
    const pull = h.github.pulls.find((p) => p.number === task.pullRequest?.number);
    if (!pull) throw new Error(`no pull request: ${JSON.stringify(task.error)}`);
    for (let i = 0; i < RUNS; i++) {
      const id = 9_000 + i;
      const body = githubEvent('issue_comment', pull, { comment: { id, body: '@patchbay one more thing' } });
      const t0 = Date.now();
      await postGitHubWebhook(h.base, GITHUB_SECRET, 'issue_comment', body);
      rows['GitHub @patchbay comment → 2xx']?.push(Date.now() - t0);
      const eyes = await firstSeen(() => h.github.reactions.find((r) => r.commentId === id));
      rows['GitHub @patchbay comment → 👀']?.push(eyes - t0);
    }
  } finally {
    await h.close();
  }
}

async function main(): Promise<void> {
  const rows: Rows = Object.fromEntries(
    [
      'Slack mention → 2xx',
      'Slack mention → 👀',
      'Slack mention → first reply',
      'Linear session → 2xx',
      'Linear session → first activity',
      'GitHub @patchbay comment → 2xx',
      'GitHub @patchbay comment → 👀',
    ].map((label) => [label, [] as number[]]),
  );
  await slack(rows);
  await linear(rows);
  await github(rows);
  console.log(`\n| ${RUNS} deliveries each | median ms | p90 ms |\n| --- | ---: | ---: |`);
  for (const [label, values] of Object.entries(rows)) {
    console.log(`| ${label} | ${median(values).toFixed(0)} | ${p90(values).toFixed(0)} |`);
  }
}

await main();
