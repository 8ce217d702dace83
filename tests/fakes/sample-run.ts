import type { TaskDiff } from '../../src/domain/ports.js';
import type { CheckResult, TaskRecord, Usage } from '../../src/domain/task.js';
import type { TimelineEntry } from '../../src/domain/timeline.js';
import { aTask, NOW } from './page-data.js';
import { checks, modelTurn, outcome, queued, stage, stageEnded, toolCall } from './timeline-entries.js';

/**
 * One plausible task, start to end: what the README's screenshots show and the live tests replay.
 * The run is split where a screenshot of it "running" is taken.
 */
const START = NOW - 6 * 60_000;
const at = (seconds: number) => new Date(START + seconds * 1_000).toISOString();

const INSTRUCTION = `After signing in, people always land on /dashboard, even when they followed a deep link (e.g. /settings/billing) and were sent to the login page first. Keep the ?next= target, but never redirect off-site.`;

const LOGIN_TS = `40    if (!user) return res.status(401).render('login', { error: 'Wrong email or password' });
41    req.session.userId = user.id;
42    return res.redirect('/dashboard');
43  }`;

export const RUNNING_ENTRIES: TimelineEntry[] = [
  queued(at(0), { source: 'slack', requester: 'maria', text: INSTRUCTION }),
  stage(at(1), 'clone'),
  stageEnded(at(2), 'clone', 1_140),
  stage(at(2), 'setup'),
  stageEnded(at(40), 'setup', 37_820),
  stage(at(40), 'agent'),
  modelTurn(at(44), 1, {
    text: "I'll find where the redirect after sign-in is decided.",
    promptTokens: 6_210,
    cachedTokens: 0,
  }),
  toolCall(
    at(45),
    1,
    'bash',
    { command: 'rg -n "dashboard" src/auth' },
    "exit code: 0\nsrc/auth/login.ts:42:    return res.redirect('/dashboard');\nsrc/auth/routes.ts:12:router.get('/', (req, res) => res.redirect('/dashboard'));",
  ),
  modelTurn(at(48), 2, { promptTokens: 6_780, cachedTokens: 6_144 }),
  toolCall(at(48), 2, 'read_file', { path: 'src/auth/login.ts', start_line: 40, end_line: 43 }, LOGIN_TS, {
    durationMs: 12,
  }),
  modelTurn(at(55), 3, {
    text: 'The handler ignores `next`. I will read it from the query, accept only paths on this site, and fall back to /dashboard.',
    promptTokens: 7_300,
    cachedTokens: 6_656,
    completionTokens: 410,
  }),
  toolCall(
    at(56),
    3,
    'edit_file',
    {
      path: 'src/auth/login.ts',
      old_text: "    return res.redirect('/dashboard');",
      new_text: "    return res.redirect(safeNext(req.query.next) ?? '/dashboard');",
    },
    'Edited src/auth/login.ts: replaced 1 occurrence.',
    { durationMs: 8 },
  ),
  modelTurn(at(60), 4, { promptTokens: 7_900, cachedTokens: 7_168, completionTokens: 620 }),
  toolCall(
    at(61),
    4,
    'write_file',
    {
      path: 'src/auth/safe-next.ts',
      content:
        "/** A same-site path to go to after sign-in, or undefined. */\nexport function safeNext(next: unknown): string | undefined {\n  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//')) return undefined;\n  return next;\n}\n",
    },
    'Wrote src/auth/safe-next.ts (5 lines).',
    { durationMs: 6 },
  ),
  modelTurn(at(66), 5, { promptTokens: 8_400, cachedTokens: 7_680 }),
  toolCall(
    at(67),
    5,
    'bash',
    { command: 'npm test -- test/auth' },
    `exit code: 1
> web@1.4.0 test
> vitest run test/auth

 ✓ test/auth/session.test.ts (6 tests) 41ms
 ❯ test/auth/login.test.ts (8 tests | 1 failed) 63ms
   × redirects to /dashboard after sign-in 12ms
     → expected '/settings/billing' to be '/dashboard'

 Test Files  1 failed | 1 passed (2)
      Tests  1 failed | 13 passed (14)`,
    { durationMs: 4_210 },
  ),
  modelTurn(at(80), 6, {
    text: 'That test signs in with ?next=/settings/billing and still expects /dashboard: it pinned the old behaviour. I will update it to expect the deep link, and add a case for an off-site target.',
    promptTokens: 9_150,
    cachedTokens: 8_192,
    completionTokens: 530,
  }),
  toolCall(
    at(81),
    6,
    'edit_file',
    {
      path: 'test/auth/login.test.ts',
      old_text: "  it('redirects to /dashboard after sign-in', async () => {",
      new_text: "  it('goes back to the deep link after sign-in', async () => {",
    },
    'Edited test/auth/login.test.ts: replaced 1 occurrence.',
    { durationMs: 7 },
  ),
  modelTurn(at(88), 7, { promptTokens: 9_820, cachedTokens: 9_216 }),
  toolCall(
    at(89),
    7,
    'bash',
    { command: 'npm test -- test/auth' },
    `exit code: 0
> web@1.4.0 test
> vitest run test/auth

 ✓ test/auth/session.test.ts (6 tests) 39ms
 ✓ test/auth/login.test.ts (9 tests) 58ms

 Test Files  2 passed (2)
      Tests  15 passed (15)`,
    { durationMs: 3_980 },
  ),
];

const CHECKS: CheckResult[] = [
  {
    command: 'npm test',
    exitCode: 0,
    timedOut: false,
    output: ' Test Files  38 passed (38)\n      Tests  412 passed (412)\n   Duration  9.81s',
    durationMs: 11_240,
  },
  {
    command: 'npm run lint',
    exitCode: 0,
    timedOut: false,
    output: 'Checked 214 files in 310ms.',
    durationMs: 2_010,
  },
];

const SUMMARY = `Sign-in now returns people to the page they came from.

- \`safeNext()\` accepts only same-site paths: \`/settings/billing\` passes, \`//evil.example\` and \`https://…\` do not, so this is no open redirect.
- The old test that pinned \`/dashboard\` now expects the deep link; a new one covers an off-site \`next\`.`;

const LAST_TURN = modelTurn(at(95), 8, { promptTokens: 10_440, cachedTokens: 9_728, completionTokens: 380 });

/** What the record says a task spent once the entries happened (the worker writes it after each step). */
function spentIn(entries: readonly TimelineEntry[]): { steps: number; usage: Usage } {
  const usage: Usage = { promptTokens: 0, cachedTokens: 0, completionTokens: 0, usd: 0, agentMs: 0 };
  let steps = 0;
  for (const e of entries) {
    if (e.type === 'model_turn') {
      usage.promptTokens += e.promptTokens;
      usage.cachedTokens += e.cachedTokens;
      usage.completionTokens += e.completionTokens;
      usage.usd = (usage.usd ?? 0) + (e.usd ?? 0);
      usage.agentMs += e.durationMs;
    }
    if (e.type === 'tool_call') {
      steps = e.step;
      usage.agentMs += e.durationMs;
    }
  }
  return { steps, usage };
}

const FINISHED = spentIn([...RUNNING_ENTRIES, LAST_TURN]);

export const FINISHING_ENTRIES: TimelineEntry[] = [
  LAST_TURN,
  toolCall(
    at(96),
    8,
    'finish',
    { title: 'Keep the ?next= target after sign-in', summary: SUMMARY },
    'Finished. The host commits your changes and opens or updates the pull request.',
    { durationMs: 2 },
  ),
  stageEnded(at(96), 'agent', 56_000),
  stage(at(97), 'checks'),
  checks(at(110), CHECKS),
  stageEnded(at(110), 'checks', 13_250),
  stage(at(111), 'pull_request'),
  {
    type: 'pull_request',
    at: at(114),
    run: 1,
    pullRequest: { number: 482, url: 'https://github.com/acme/web/pull/482' },
    created: true,
  },
  stageEnded(at(114), 'pull_request', 3_020),
  outcome(at(115), { steps: 8, usage: FINISHED.usage, summary: SUMMARY }),
];

export const SAMPLE_DIFF: TaskDiff = {
  files: ['src/auth/login.ts', 'src/auth/safe-next.ts', 'test/auth/login.test.ts'],
  stat: ' 3 files changed, 17 insertions(+), 3 deletions(-)',
  patch: `diff --git a/src/auth/login.ts b/src/auth/login.ts
index 3f1c2aa..9b0de41 100644
--- a/src/auth/login.ts
+++ b/src/auth/login.ts
@@ -1,5 +1,6 @@
 import type { Request, Response } from 'express';
 import { findUser, checkPassword } from './users.js';
+import { safeNext } from './safe-next.js';
 
 export async function login(req: Request, res: Response) {
   const user = await findUser(req.body.email);
@@ -39,6 +40,6 @@ export async function login(req: Request, res: Response) {
   if (!user || !(await checkPassword(user, req.body.password))) {
     return res.status(401).render('login', { error: 'Wrong email or password' });
   }
   req.session.userId = user.id;
-  return res.redirect('/dashboard');
+  return res.redirect(safeNext(req.query.next) ?? '/dashboard');
 }
diff --git a/src/auth/safe-next.ts b/src/auth/safe-next.ts
new file mode 100644
index 0000000..5d2c7e1
--- /dev/null
+++ b/src/auth/safe-next.ts
@@ -0,0 +1,5 @@
+/** A same-site path to go to after sign-in, or undefined. */
+export function safeNext(next: unknown): string | undefined {
+  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//')) return undefined;
+  return next;
+}
diff --git a/test/auth/login.test.ts b/test/auth/login.test.ts
index 77ab010..c40e9d3 100644
--- a/test/auth/login.test.ts
+++ b/test/auth/login.test.ts
@@ -21,10 +21,18 @@ describe('login', () => {
     expect(res.status).toBe(401);
   });
 
-  it('redirects to /dashboard after sign-in', async () => {
+  it('goes back to the deep link after sign-in', async () => {
     const res = await signIn(app, { next: '/settings/billing' });
 
-    expect(res.headers.location).toBe('/dashboard');
+    expect(res.headers.location).toBe('/settings/billing');
+  });
+
+  it('never follows an off-site next', async () => {
+    for (const next of ['//evil.example', 'https://evil.example/']) {
+      const res = await signIn(app, { next });
+
+      expect(res.headers.location).toBe('/dashboard');
+    }
   });
 
   it('keeps the session cookie HttpOnly', async () => {
`,
};

/**
 * The sample task as stored while it runs (after `entries` happened; the whole running part by
 * default), and once it finished.
 */
export function sampleTask(
  id: string,
  state: 'running' | 'finished',
  entries: readonly TimelineEntry[] = RUNNING_ENTRIES,
): TaskRecord {
  const base = aTask(id, {
    createdAt: at(0),
    startedAt: at(1),
    conversation: 'slack:T1:C42:1715698800.1234',
    request: {
      repo: 'acme/web',
      instruction: INSTRUCTION,
      conversation: 'slack:T1:C42:1715698800.1234',
      origin: { source: 'slack', label: 'Slack #web-team thread', requester: 'maria' },
    },
    branch: 'patchbay/c4f1e2-keep-next-target',
  });
  if (state === 'running') {
    return { ...base, status: 'running', ...spentIn(entries) };
  }
  return {
    ...base,
    status: 'succeeded',
    title: 'Keep the ?next= target after sign-in',
    summary: SUMMARY,
    ...FINISHED,
    checks: CHECKS,
    pullRequest: { number: 482, url: 'https://github.com/acme/web/pull/482' },
    finishedAt: at(115),
  };
}
