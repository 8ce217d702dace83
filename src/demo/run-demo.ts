import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FileConfig } from '../config/file-schema.js';
import { buildConfig, parseEnv } from '../config/load-config.js';
import { createLogger } from '../lib/logger.js';
import { startPatchbay } from '../main.js';
import { probeSandbox } from '../sandbox/probe-sandbox.js';
import { createTerminalReporter } from '../tasks/terminal-reporter.js';
import { driveReview } from './demo-review.js';
import {
  DEMO_FILES,
  DEMO_INSTRUCTION,
  DEMO_REVIEW_COMMENT,
  DEMO_REVIEW_SCRIPT,
  DEMO_SCRIPT,
} from './demo-script.js';
import { startGitHttpServer } from './git-http-server.js';
import { startGitHubStandIn } from './github-stand-in.js';
import { ensureRedis, hideRedisPassword } from './private-redis.js';
import { startScriptedModel } from './scripted-model.js';

type Out = { write(text: string): unknown };
const REPO = 'acme/demo';

/** Uses REDIS_URL when something answers there; else starts a private redis-server from PATH. */
async function useOrStartRedis(url: string, out: Out): Promise<{ url: string; stop?: () => Promise<void> }> {
  const shown = hideRedisPassword(url);
  const redis = await ensureRedis(url).catch((err: Error) => {
    throw new Error(
      `nothing answers on ${shown} and a private redis-server could not start (${err.message}): install Redis (apt-get install redis-server, brew install redis) or set REDIS_URL`,
    );
  });
  if (!redis.started) {
    out.write(`redis: using ${shown}\n`);
    return { url };
  }
  out.write(
    `redis: nothing answered on ${shown}, so the demo started a private redis-server on port ${redis.started.port}\n`,
  );
  return { url: redis.url, stop: redis.started.stop };
}

/**
 * `npm run demo`: the real server, queue and worker, with loopback stand-ins for GitHub (a real git
 * remote over HTTP plus a REST stand-in) and the model (scripted). Prints the PR it opened and its diff,
 * then the task page's address and how to sign in; with `serveUntil` it keeps serving the pages until
 * that settles (Ctrl-C for `npm run demo`), else it stops at once (tests).
 */
export async function runDemo(opts: {
  env: Record<string, string | undefined>;
  out: Out;
  serveUntil?: Promise<unknown>;
}): Promise<boolean> {
  const { out } = opts;
  const dir = await mkdtemp(join(tmpdir(), 'patchbay-demo-'));
  const token = `demo-${randomBytes(8).toString('hex')}`;
  const cleanups: Array<() => Promise<unknown> | unknown> = [() => rm(dir, { recursive: true, force: true })];
  try {
    out.write(
      'Patchbay demo: the real server, queue, worker, git and sandbox; GitHub and the model are stand-ins.\n',
    );
    const redis = await useOrStartRedis(opts.env.REDIS_URL ?? 'redis://127.0.0.1:6379', out);
    if (redis.stop) cleanups.push(redis.stop);
    const git = await startGitHttpServer({ root: join(dir, 'remote'), token });
    cleanups.push(() => git.close());
    await git.createRepo(REPO, DEMO_FILES);
    const github = await startGitHubStandIn({ repos: [{ name: REPO }], token });
    cleanups.push(() => github.close());
    const model = await startScriptedModel([...DEMO_SCRIPT, ...DEMO_REVIEW_SCRIPT]);
    cleanups.push(() => model.close());
    out.write(
      `stand-in GitHub REST: ${github.url}\nstand-in git remote:  ${git.url} (a real git http-backend, token required)\n`,
    );
    out.write(`stand-in model:       ${model.url} (scripted answers, not a real model)\n`);

    const requested = opts.env.PATCHBAY_SANDBOX === 'none' ? 'none' : 'bwrap';
    const sandbox = await probeSandbox({ mode: requested }).catch(async (err: Error) => {
      out.write(
        `\n!!! bubblewrap is not usable here (${err.message}).\n!!! The demo runs the agent WITHOUT a sandbox.\n\n`,
      );
      return probeSandbox({ mode: 'none' });
    });
    const apiToken = randomBytes(16).toString('hex');
    const webhookSecret = randomBytes(16).toString('hex');
    const env = parseEnv({
      REDIS_URL: redis.url,
      PORT: '0',
      PATCHBAY_API_TOKEN: apiToken,
      PATCHBAY_SANDBOX: sandbox.mode,
      PATCHBAY_DATA_DIR: join(dir, 'data'),
      PATCHBAY_MODEL: 'scripted-demo-model',
      GITHUB_TOKEN: token,
      GITHUB_WEBHOOK_SECRET: webhookSecret,
      GITHUB_API_URL: github.url,
      GITHUB_SERVER_URL: git.url,
      OPENAI_API_KEY: 'demo',
      OPENAI_BASE_URL: model.url,
      LOG_LEVEL: 'warn',
    });
    const file = FileConfig.parse({ repositories: [{ name: REPO, check: ['node test.js'] }] });
    const log = createLogger({ level: 'warn' });
    const running = await startPatchbay({
      config: buildConfig(env, file),
      log,
      server: true,
      worker: true,
      prefix: `patchbay-demo:${randomBytes(4).toString('hex')}:`,
      queueName: `patchbay-demo-${randomBytes(4).toString('hex')}`,
      reporters: { api: createTerminalReporter(out) },
    });
    cleanups.push(() => running.stop());
    out.write(`sandbox: ${running.sandboxDescription}\nserver: http://127.0.0.1:${running.port}\n\n`);
    const remoteRoot = join(dir, 'remote');
    const server = `http://127.0.0.1:${running.port}`;
    const done = await driveTask({ port: running.port ?? 0, apiToken, out, github, remoteRoot });
    if (!done) return false;
    const reply = await driveReview({
      server,
      secret: webhookSecret,
      github,
      repo: REPO,
      pullNumber: done.pullNumber,
      comment: DEMO_REVIEW_COMMENT,
      out,
    });
    if (!reply) {
      out.write('the review follow-up did not answer on the pull request\n');
      return false;
    }
    out.write(`\nPatchbay's reply on the pull request:\n${'-'.repeat(72)}\n${reply}\n${'-'.repeat(72)}\n`);
    out.write(`\n${await lastCommitOnRemote(join(remoteRoot, `${REPO}.git`), done.branch)}\n`);
    out.write(
      [
        '',
        `Task page:  ${server}/tasks/${done.taskId}`,
        `Dashboard:  ${server}/tasks`,
        `Sign in at ${server}/login with the operator token ${apiToken}`,
        '',
      ].join('\n'),
    );
    if (opts.serveUntil) {
      out.write('Serving the pages until Ctrl-C.\n');
      await opts.serveUntil;
    }
    return true;
  } finally {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  }
}

async function driveTask(opts: {
  port: number;
  apiToken: string;
  out: Out;
  github: Awaited<ReturnType<typeof startGitHubStandIn>>;
  remoteRoot: string;
}): Promise<{ taskId: string; pullNumber: number; branch: string } | null> {
  const { out } = opts;
  const base = `http://127.0.0.1:${opts.port}/api/tasks`;
  const headers = { authorization: `Bearer ${opts.apiToken}`, 'content-type': 'application/json' };
  out.write(`POST /api/tasks  {"repo": "${REPO}", "instruction": "${DEMO_INSTRUCTION}"}\n`);
  const started = Date.now();
  const created = await fetch(base, {
    method: 'POST',
    headers,
    body: JSON.stringify({ repo: REPO, instruction: DEMO_INSTRUCTION }),
  });
  const { id } = (await created.json()) as { id: string };
  out.write(`→ ${created.status} task ${id}\n`);
  let task: {
    status: string;
    pullRequest?: { number: number; url: string };
    branch?: string;
    error?: unknown;
  } = { status: 'queued' };
  while (!['succeeded', 'failed', 'cancelled'].includes(task.status) && Date.now() - started < 120_000) {
    await new Promise((r) => setTimeout(r, 200));
    task = (await (await fetch(`${base}/${id}`, { headers })).json()) as typeof task;
  }
  out.write(`\ntask ${id}: ${task.status} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  if (task.status !== 'succeeded' || !task.pullRequest) {
    out.write(`the demo did not produce a pull request: ${JSON.stringify(task.error ?? task.status)}\n`);
    return null;
  }
  const pr = opts.github.pulls.find((p) => p.number === task.pullRequest?.number);
  out.write(
    `\npull request #${pr?.number} (${pr?.draft ? 'draft' : 'ready'}) ${pr?.head.ref} → ${pr?.base.ref}: ${pr?.title}\n`,
  );
  out.write(`${'-'.repeat(72)}\n${pr?.body ?? ''}\n${'-'.repeat(72)}\n`);
  out.write(
    `\n${await diffOnRemote(join(opts.remoteRoot, `${REPO}.git`), pr?.base.ref ?? 'main', task.branch ?? '')}\n`,
  );
  return { taskId: id, pullNumber: task.pullRequest.number, branch: task.branch ?? '' };
}

/** The pull request's diff as the remote holds it: what a reviewer would see. */
function diffOnRemote(gitDir: string, base: string, branch: string): Promise<string> {
  return gitOnRemote(gitDir, ['diff', '--stat', '--patch', `${base}...${branch}`]);
}

/** The newest commit on the branch: what the review follow-up pushed on top. */
function lastCommitOnRemote(gitDir: string, branch: string): Promise<string> {
  return gitOnRemote(gitDir, ['log', '-1', '--stat', '--patch', '--format=commit %h %s', branch]);
}

async function gitOnRemote(gitDir: string, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('git', ['--git-dir', gitDir, ...args], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
    },
  });
  return stdout;
}
