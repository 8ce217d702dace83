/**
 * What a Patchbay process costs to start and to keep idle, on this machine, printed as a table:
 * time from spawn to ready (the `server listening` / `worker started` log lines; p50 and max over a
 * few runs) and the idle process's memory (RSS, and the V8 heap after a full GC) two seconds after
 * ready (a server's with its inbox process's added, that process's share in a column of its own),
 * for `server`, `worker` and `start`, run from TypeScript through tsx (`node --import tsx
 * src/cli.ts`, what `npm start` runs, without tsx's own parent process) and from the build
 * (`node dist/cli.js`, after `npm run build`). Baseline in the same run: a bare `node` process.
 * With BASELINE=<dir> (another checkout of Patchbay, built), its `dist/cli.js` is measured beside.
 * Redis must answer at REDIS_URL (default 127.0.0.1:6379); the model and GitHub are never called.
 * Run with `npx tsx bench/startup.ts` (RUNS=5 for more runs).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

const RUNS = Number(process.env.RUNS ?? 3);
/** The start of the line a server logs once its inbox consumer runs (in a process or, before, a thread of its own). */
const INBOX_READY = 'inbox consumer running';
const IDLE_MS = 2_000;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const READY: Record<Role, string[]> = {
  server: ['server listening', INBOX_READY],
  worker: ['worker started'],
  start: ['server listening', 'worker started', INBOX_READY],
};
/**
 * Loaded into each measured process and, through NODE_OPTIONS, into the inbox process a server forks:
 * on SIGUSR2, a full GC, then its memory on stderr (`MEM <pid> {…}`).
 */
const PROBE = `import v8 from 'node:v8'; import vm from 'node:vm';
v8.setFlagsFromString('--expose-gc'); const gc = vm.runInNewContext('gc');
process.on('SIGUSR2', () => { gc(); process.stderr.write('MEM ' + process.pid + ' ' + JSON.stringify(process.memoryUsage()) + '\\n'); });`;

type Role = 'server' | 'worker' | 'start';
const prefixes: string[] = [];
type Runner = 'tsx' | 'dist' | 'bare node' | 'baseline dist';
const BASELINE = process.env.BASELINE;
interface Sample {
  readyMs: number;
  /** The process's, and its inbox process's added. */
  rss: number;
  heapUsed: number;
  /** The inbox process's alone (0 where there is none). */
  inboxRss: number;
}

async function main(): Promise<void> {
  if (!existsSync('dist/cli.js')) throw new Error('run `npm run build` first: dist/cli.js is missing');
  const dir = await mkdtemp(join(tmpdir(), 'patchbay-startup-'));
  const probe = join(dir, 'probe.mjs');
  await writeFile(probe, PROBE);
  await writeFile(join(dir, 'patchbay.yml'), JSON.stringify({ repositories: [{ name: 'acme/web' }] }));
  const rows: string[][] = [];
  try {
    rows.push(row('bare node', '—', await measureAll(() => spawnBare(probe), ['idle'])));
    for (const role of ['server', 'worker', 'start'] as const) {
      const runners = BASELINE ? (['tsx', 'baseline dist', 'dist'] as const) : (['tsx', 'dist'] as const);
      for (const runner of runners) {
        const samples = await measureAll(() => spawnPatchbay(runner, role, probe, dir), READY[role]);
        rows.push(row(runner, role, samples));
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
    await removeBenchKeys();
  }
  printTable(rows);
}

async function measureAll(start: () => ChildProcess, ready: string[]): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (let i = 0; i < RUNS; i++) samples.push(await measureOnce(start, ready));
  return samples;
}

function spawnBare(probe: string): ChildProcess {
  const script = "console.log('idle'); setInterval(() => {}, 1e6)";
  return spawn(process.execPath, ['--import', probe, '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function spawnPatchbay(
  runner: Exclude<Runner, 'bare node'>,
  role: Role,
  probe: string,
  dir: string,
): ChildProcess {
  const id = randomBytes(4).toString('hex');
  prefixes.push(`pbbench:${id}:`);
  const entry = {
    tsx: ['--import', 'tsx', 'src/cli.ts'],
    dist: ['dist/cli.js'],
    'baseline dist': [join(BASELINE ?? '.', 'dist/cli.js')],
  }[runner];
  return spawn(process.execPath, [...entry, role], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      NODE_OPTIONS: `--import ${probe}`,
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? dir,
      REDIS_URL,
      PORT: '0',
      PATCHBAY_CONFIG: join(dir, 'patchbay.yml'),
      PATCHBAY_DATA_DIR: join(dir, `data-${id}`),
      PATCHBAY_QUEUE: `pbbench-${id}`,
      PATCHBAY_REDIS_PREFIX: `pbbench:${id}:`,
      PATCHBAY_API_TOKEN: randomBytes(16).toString('hex'),
      GITHUB_TOKEN: 'ghp_benchNeverUsed',
      OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
      LOG_LEVEL: 'info',
    },
  });
}

/** Spawns, waits for every ready line, idles, asks for the memory, stops the process. */
async function measureOnce(start: () => ChildProcess, ready: string[]): Promise<Sample> {
  const started = performance.now();
  const child = start();
  const lines = linesOf(child);
  try {
    const said = [];
    for (const line of ready) said.push(await lines.waitFor(line));
    const readyMs = performance.now() - started;
    const inboxLine = said.find((line) => line.includes(INBOX_READY));
    // A server from before the inbox process (its consumer on a thread) names no process.
    const inboxPid = inboxLine ? Number((JSON.parse(inboxLine) as { inboxPid?: number }).inboxPid ?? 0) : 0;
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    const memoryOf = async (pid: number) => {
      process.kill(pid, 'SIGUSR2');
      const line = await lines.waitFor(`MEM ${pid} `);
      return JSON.parse(line.slice(`MEM ${pid} `.length)) as NodeJS.MemoryUsage;
    };
    const main = await memoryOf(child.pid ?? 0);
    const inbox = inboxPid ? await memoryOf(inboxPid) : { rss: 0, heapUsed: 0 };
    return {
      readyMs,
      rss: main.rss + inbox.rss,
      heapUsed: main.heapUsed + inbox.heapUsed,
      inboxRss: inbox.rss,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(null)));
  }
}

/** The process's stdout and stderr lines; `waitFor` resolves with the first that contains `text`. */
function linesOf(child: ChildProcess) {
  const seen: string[] = [];
  const waiters: Array<{ text: string; resolve: (line: string) => void }> = [];
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      seen.push(line);
      for (const w of waiters.filter((w) => line.includes(w.text))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  return {
    waitFor: (text: string) =>
      new Promise<string>((resolve, reject) => {
        const found = seen.find((l) => l.includes(text));
        if (found) return resolve(found);
        waiters.push({ text, resolve });
        child.once('exit', (code) =>
          reject(new Error(`exited (${code}) before "${text}":\n${seen.slice(-10).join('\n')}`)),
        );
      }),
  };
}

const MB = 1024 * 1024;
const fmtMs = (ms: number) => `${Math.round(ms)} ms`;
const fmtMb = (bytes: number) => `${(bytes / MB).toFixed(0)} MB`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? 0;

function row(runner: Runner, role: string, samples: Sample[]): string[] {
  const ready = samples.map((s) => s.readyMs);
  return [
    role,
    runner,
    fmtMs(median(ready)),
    fmtMs(Math.max(...ready)),
    fmtMb(median(samples.map((s) => s.rss))),
    fmtMb(median(samples.map((s) => s.heapUsed))),
    samples.some((s) => s.inboxRss > 0) ? fmtMb(median(samples.map((s) => s.inboxRss))) : '—',
  ];
}

function printTable(rows: string[][]): void {
  const head = [
    'process',
    'entry',
    'ready p50',
    'ready max',
    'RSS idle p50',
    'heap idle p50',
    'of the RSS, the inbox process',
  ];
  const lines = [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`);
  process.stdout.write(`Start-up and idle memory, ${RUNS} runs each (load average ${loadAverage()}):\n\n`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

const loadAverage = () => loadavg()[0]?.toFixed(1) ?? '?';

/** Every key the measured processes left (their heartbeats, queues): all under `pbbench:<id>:`. */
async function removeBenchKeys(): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    for (const prefix of prefixes) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
    }
  } finally {
    redis.disconnect();
  }
}

await main();
