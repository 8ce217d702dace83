import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { FileConfig } from '../../src/config/file-schema.js';
import { buildConfig, parseEnv } from '../../src/config/load-config.js';
import { startGitHttpServer } from '../../src/demo/git-http-server.js';
import { startGitHubStandIn } from '../../src/demo/github-stand-in.js';
import { type Script, startScriptedModel } from '../../src/demo/scripted-model.js';
import type { Reporter, TaskEvent } from '../../src/domain/events.js';
import type { ReplyAddress } from '../../src/domain/reply-address.js';
import type { Clock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/logger.js';
import { type Running, type StartOptions, startPatchbay } from '../../src/main.js';
import { REDIS_URL } from './redis.js';

export const REPO = 'acme/web';

export const REPO_FILES: Record<string, string> = {
  'README.md': '# web\n',
  'src/greet.js': "export const greet = (name) => 'Hello ' + name;\n",
  'test.js':
    "import { greet } from './src/greet.js';\nif (greet('x') !== 'Hello, x') { console.log('greet is wrong'); process.exit(1); }\nconsole.log('ok');\n",
};

export interface HarnessOptions {
  script: Script;
  /** patchbay.yml content beyond the default repository list. */
  file?: Record<string, unknown>;
  env?: Record<string, string>;
  worker?: boolean;
  retry?: { attempts: number; backoffMs: number };
  /**
   * `app`: GitHub App mode, GITHUB_APP_ID + GITHUB_APP_PRIVATE_KEY (a throwaway key, `\n`-escaped as in
   * a .env file) and no GITHUB_TOKEN; the stand-ins accept only installation tokens. Default `token`.
   */
  githubAuth?: 'token' | 'app';
  /** The clock the integrations' own timers run on (StartOptions.clock); a test may hold it still. */
  clock?: Clock;
  /** 'off': the worker runs its tasks without cgroups, as on a host that has none. */
  cgroups?: 'auto' | 'off';
  /** The first server's inbox consumer (StartOptions.inbox); a restarted server gets its own. */
  inbox?: StartOptions['inbox'];
  /** The GitHub stand-in refuses content-creating writes of one installation closer than this (ms). */
  githubWritePaceMs?: number;
  /** Sign-in with GitHub on (GITHUB_CLIENT_ID/SECRET, the stand-in's OAuth app; git's host serves /login/). */
  signIn?: boolean;
}

export const APP_ID = '4242';
export const INSTALLATION_ID = 77;

/**
 * Everything an end-to-end test needs, real where it matters: Redis, git over HTTP with a token,
 * bubblewrap, and Patchbay's own server and worker; GitHub's REST API and the model are stand-ins.
 */
export async function startHarness(opts: HarnessOptions) {
  const dir = await mkdtemp(join(tmpdir(), 'patchbay-e2e-'));
  const githubToken = `ghs_${randomBytes(12).toString('hex')}`;
  const openaiKey = `sk-${randomBytes(12).toString('hex')}`;
  const apiToken = randomBytes(16).toString('hex');
  const appKeys = opts.githubAuth === 'app' ? generateAppKeys() : undefined;
  const oauth = opts.signIn
    ? { clientId: `Iv1.${randomBytes(8).toString('hex')}`, clientSecret: randomBytes(20).toString('hex') }
    : undefined;
  const github = await startGitHubStandIn({
    repos: [{ name: REPO }],
    gitRoot: join(dir, 'remote'),
    ...(oauth ? { oauth } : {}),
    ...(opts.githubWritePaceMs === undefined ? {} : { writePaceMs: opts.githubWritePaceMs }),
    ...(appKeys
      ? {
          app: {
            id: APP_ID,
            publicKey: appKeys.publicKey,
            installations: [{ id: INSTALLATION_ID, repos: [REPO] }],
          },
        }
      : { token: githubToken }),
  });
  const git = await startGitHttpServer({
    root: join(dir, 'remote'),
    ...(oauth ? { webHost: github.serverUrl } : {}),
    ...(appKeys ? { acceptToken: (t: string) => github.isInstallationToken(t) } : { token: githubToken }),
  });
  await git.createRepo(REPO, REPO_FILES);
  const model = await startScriptedModel(opts.script);
  const id = randomBytes(4).toString('hex');
  const prefix = `pbtest:${id}:`;
  const queueName = `pbtest-${id}`;
  const envVars: Record<string, string> = {
    REDIS_URL,
    PORT: '0',
    PATCHBAY_API_TOKEN: apiToken,
    PATCHBAY_SANDBOX: 'bwrap',
    PATCHBAY_DATA_DIR: join(dir, 'data'),
    PATCHBAY_MODEL: 'scripted',
    PATCHBAY_LOCK_MS: '3000',
    ...(appKeys
      ? { GITHUB_APP_ID: APP_ID, GITHUB_APP_PRIVATE_KEY: appKeys.privateKey.trim().replace(/\n/g, '\\n') }
      : { GITHUB_TOKEN: githubToken }),
    GITHUB_API_URL: github.url,
    GITHUB_SERVER_URL: git.url,
    OPENAI_API_KEY: openaiKey,
    ...(oauth ? { GITHUB_CLIENT_ID: oauth.clientId, GITHUB_CLIENT_SECRET: oauth.clientSecret } : {}),
    OPENAI_BASE_URL: model.url,
    LOG_LEVEL: 'warn',
    ...opts.env,
  };
  const fileConfig = { repositories: [{ name: REPO, check: ['node test.js'] }], ...opts.file };
  const configPath = join(dir, 'patchbay.yml');
  await writeFile(configPath, JSON.stringify(fileConfig));
  const events: Array<TaskEvent & { at: number }> = [];
  const recorder: Reporter = { report: async (e) => void events.push({ ...e, at: Date.now() }) };
  const logLines: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  const running: Running[] = [];
  const start = (roles: { server: boolean; worker: boolean }, inbox?: StartOptions['inbox']) =>
    startPatchbay({
      inbox,
      config: buildConfig(parseEnv(envVars), FileConfig.parse(fileConfig)),
      log: createLogger({ level: 'info', destination: logStream }),
      ...roles,
      prefix,
      queueName,
      retry: opts.retry ?? { attempts: 2, backoffMs: 200 },
      reporters: { api: recorder },
      clock: opts.clock,
      cgroups: opts.cgroups,
      hostEnv: envVars,
    }).then((r) => {
      running.push(r);
      return r;
    });
  const server = await start({ server: true, worker: opts.worker ?? true }, opts.inbox);
  const base = `http://127.0.0.1:${server.port}`;
  const headers = { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' };

  return {
    /** The first Patchbay started (the server, and the worker unless `worker: false`). */
    patchbay: server,
    dir,
    git,
    github,
    model,
    events,
    logLines,
    secrets: { githubToken, openaiKey, apiToken, ...(appKeys ? { appPrivateKey: appKeys.privateKey } : {}) },
    base,
    /** The worker's environment and config, to start `patchbay worker` in another process. */
    workerProcessEnv: {
      ...envVars,
      PATCHBAY_CONFIG: configPath,
      PATCHBAY_QUEUE: queueName,
      PATCHBAY_REDIS_PREFIX: prefix,
    },
    startWorker: () => start({ server: false, worker: true }),
    /**
     * Stops the first process (the server, with or without its worker) and starts a server alone in its
     * place: on the same port when the harness was given one (env PORT), as a restart would.
     */
    async restartServer(inbox?: StartOptions['inbox']) {
      const first = running.shift();
      await first?.stop();
      return start({ server: true, worker: false }, inbox);
    },
    post: (path: string, body: unknown, extra: Record<string, string> = {}) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { ...headers, ...extra },
        body: JSON.stringify(body),
      }),
    async createTask(body: Record<string, unknown>, extra: Record<string, string> = {}) {
      const res = await fetch(`${base}/api/tasks`, {
        method: 'POST',
        headers: { ...headers, ...extra },
        body: JSON.stringify({ repo: REPO, ...body }),
      });
      return {
        status: res.status,
        body: (await res.json()) as { id: string; conversation: string; status: string },
      };
    },
    /** The places that hear about a task, as stored (the list's first entry only marks the format). */
    async audience(id: string): Promise<ReplyAddress[]> {
      const redis = new Redis(REDIS_URL);
      try {
        const entries = await redis.lrange(`${prefix}audience:${id}`, 0, -1);
        return entries.slice(1).map((e) => (JSON.parse(e) as { address: ReplyAddress }).address);
      } finally {
        redis.disconnect();
      }
    },
    /** A GET of the API with the bearer token: its status and its JSON body. */
    // biome-ignore lint/suspicious/noExplicitAny: tests read whatever shape the route answers
    async get(path: string): Promise<{ status: number; body: any }> {
      const res = await fetch(`${base}${path}`, { headers });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    async getTask(id: string) {
      const res = await fetch(`${base}/api/tasks/${id}`, { headers });
      return (await res.json()) as TaskView;
    },
    async waitFor(id: string, done: (t: TaskView) => boolean, timeoutMs = 45_000): Promise<TaskView> {
      const until = Date.now() + timeoutMs;
      let task = await this.getTask(id);
      while (!done(task)) {
        if (Date.now() > until) {
          const recent = logLines.slice(-15).join('');
          throw new Error(
            `task ${id} still ${task.status} (${JSON.stringify(task.error)}); last log lines:\n${recent}`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
        task = await this.getTask(id);
      }
      return task;
    },
    async close() {
      for (const r of running.reverse()) await r.stop();
      await Promise.all([git.close(), github.close(), model.close()]);
      // A warm-clone refill may still be finishing its last write: retry like rm -rf would.
      await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    },
  };
}
export type Harness = Awaited<ReturnType<typeof startHarness>>;

/** A throwaway GitHub App key pair, the private half PKCS#1 like GitHub's .pem files. */
function generateAppKeys() {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
}

export interface TaskView {
  id: string;
  conversation: string;
  status: string;
  steps: number;
  attempts: number;
  branch?: string;
  summary?: string;
  pullRequest?: { number: number; url: string };
  question?: string;
  error?: { code: string; message: string; hint?: string };
  checks: Array<{ command: string; exitCode: number | null }>;
  usage: { promptTokens: number; completionTokens: number; usd: number | null };
  model?: string;
  compactions?: number;
}

/**
 * The entries Patchbay logged with this message so far. The log is written synchronously in this
 * process, so once a webhook was answered, what its handler logged is here: a negative ("no task was
 * queued") can be read without waiting.
 */
export function logged(harness: Pick<Harness, 'logLines'>, msg: string): Array<Record<string, unknown>> {
  return harness.logLines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry.msg === msg);
}

/** Task ids Patchbay logged as queued so far. */
export const queuedTaskIds = (harness: Pick<Harness, 'logLines'>): string[] =>
  logged(harness, 'task queued').map((entry) => String(entry.taskId ?? ''));

export const isFinal = (t: TaskView) => ['succeeded', 'failed', 'cancelled'].includes(t.status);
