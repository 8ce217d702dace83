/**
 * Clone benchmark: a 10,000-file repository with a long history served over smart HTTP (the git
 * HTTP stand-in, with a token), comparing what a task pays (warm mirror + a warm pool entry, or a
 * `--shared` clone and full checkout without the pool) with a plain full clone over HTTP. Run with
 * `npx tsx bench/clone.ts`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import {
  commitToBare,
  createBareRepo,
  fastImport,
  fastImportCommit,
  git,
  tempDir,
} from '../src/demo/git-fixtures.js';
import { startGitHttpServer } from '../src/demo/git-http-server.js';
import { createSilentLogger } from '../src/lib/logger.js';
import { createWorkspaces } from '../src/workspace/create-workspaces.js';
import { configEnv, runGit } from '../src/workspace/git.js';
import { type TaskClone, tokenCredentials } from '../src/workspace/types.js';

export interface FixtureOptions {
  files: number;
  commits: number;
  /** files changed per commit after the first */
  touched?: number;
}

function fileContent(i: number, version: number): string {
  const lines = [`// module ${i}, revision ${version}`];
  // About 2.5 KB, a typical source file; every revision rewrites a few lines.
  for (let l = 0; l < 60; l += 1) {
    lines.push(
      `export const value${l}_${i} = computeSomething(${(i * 31 + l * 7 + (l % 6 === 0 ? version : 0)) % 997});`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const pathOf = (i: number) => `src/pkg${i % 50}/mod${Math.floor(i / 50) % 20}/file${i}.ts`;

/**
 * Writes a bare repository with `files` files and `commits` commits through one generated
 * `git fast-import` stream (seconds, not minutes), then packs it as a hosting server would.
 */
export async function buildCloneFixture(gitDir: string, opts: FixtureOptions): Promise<string> {
  await createBareRepo(gitDir, {});
  const initial: Record<string, string> = { 'README.md': '# fixture\n' };
  for (let i = 0; i < opts.files; i += 1) initial[pathOf(i)] = fileContent(i, 0);
  const chunks = [fastImportCommit({ branch: 'main', message: 'Initial import', files: initial })];
  const touched = opts.touched ?? 5;
  for (let c = 1; c < opts.commits; c += 1) {
    const files: Record<string, string> = {};
    for (let t = 0; t < touched; t += 1) {
      const i = (c * 7919 + t * 104_729) % opts.files;
      files[pathOf(i)] = fileContent(i, c);
    }
    chunks.push(
      fastImportCommit({ branch: 'main', message: `Change ${c}`, files, time: 1_700_000_000 + c * 60 }),
    );
  }
  await fastImport(gitDir, Buffer.concat(chunks));
  await git(['--git-dir', gitDir, 'repack', '-a', '-d', '-q']);
  return gitDir;
}

export interface Timing {
  step: string;
  runs: number[];
  /** marks the rows the ratios are computed from */
  role?: 'pool' | 'no-pool' | 'full';
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

async function repeat(runs: number, fn: (i: number) => Promise<number>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i += 1) out.push(await fn(i));
  return out;
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

type Workspaces = ReturnType<typeof createWorkspaces>;

interface BenchSetup {
  base: string;
  url: string;
  token: string;
  repo: string;
  runs: number;
  make(root: string, poolSize: number): Workspaces;
}

/** Cold syncs without a pool, so that no background refill of theirs runs into later measurements. */
async function measureSync(b: BenchSetup): Promise<{ cold: number[]; warm: number[]; ws: Workspaces }> {
  const cold = await repeat(b.runs, (i) =>
    time(() => b.make(join(b.base, `cold${i}`), 0).syncMirror(b.repo)),
  );
  const ws = b.make(join(b.base, 'cold0'), 1);
  const warm = await repeat(b.runs, async () => {
    const ms = await time(() => ws.syncMirror(b.repo));
    await ws.poolIdle();
    return ms;
  });
  return { cold, warm, ws };
}

/**
 * One createClone per run, each after the pool refill of the previous one (if any) finished: the
 * normal case for the second and later tasks of a repository. `beforeRun` may move the remote first.
 */
function measureCreateClone(
  b: BenchSetup,
  ws: Workspaces,
  tag: string,
  beforeRun: (i: number) => Promise<void> = async () => undefined,
): Promise<number[]> {
  return repeat(b.runs, async (i) => {
    await beforeRun(i);
    await ws.poolIdle();
    let clone: TaskClone | undefined;
    const ms = await time(async () => {
      const task = { repo: b.repo, taskId: `${tag}${i}`, branch: `patchbay/${tag}-${i}`, base: 'main' };
      clone = await ws.createClone(task);
    });
    await clone?.dispose();
    await ws.poolIdle();
    return ms;
  });
}

/** Moves main on the remote by `commits` commits of a few files each, and fetches them into the mirror. */
async function advanceRemote(b: BenchSetup, ws: Workspaces, run: number, commits: number): Promise<void> {
  const gitDir = join(b.base, 'remote', `${b.repo}.git`);
  for (let c = 0; c < commits; c += 1) {
    const files: Record<string, string> = {};
    for (let t = 0; t < 5; t += 1)
      files[pathOf((run * 997 + c * 131 + t * 17) % 10_000)] = `moved ${run}.${c}\n`;
    await commitToBare(gitDir, { branch: 'main', message: `Moved ${run}.${c}`, files });
  }
  await ws.syncMirror(b.repo);
}

/** The baseline: what a task would pay without a mirror, a complete clone over HTTP with checkout. */
function measureFullClone(b: BenchSetup): Promise<number[]> {
  const header = `Authorization: Basic ${Buffer.from(`x-access-token:${b.token}`).toString('base64')}`;
  return repeat(b.runs, async (i) => {
    const dir = join(b.base, `full${i}`);
    const env = configEnv([['http.extraHeader', header]]);
    const ms = await time(() =>
      runGit(
        { home: b.base, searchPath: process.env.PATH },
        ['clone', '--quiet', `${b.url}/${b.repo}.git`, dir],
        {
          env,
          timeoutMs: 600_000,
        },
      ),
    );
    await rm(dir, { recursive: true, force: true });
    return ms;
  });
}

function measurePush(b: BenchSetup, ws: Workspaces): Promise<number[]> {
  return repeat(b.runs, async (i) => {
    const task = await ws.createClone({
      repo: b.repo,
      taskId: `p${i}`,
      branch: `patchbay/p-${i}`,
      base: 'main',
    });
    await writeFile(join(task.dir, 'README.md'), `# fixture\n\nchange ${i}\n`);
    await ws.poolIdle();
    const ms = await time(async () => {
      await task.commit({ message: `Bench change ${i}`, allowWorkflows: false });
      await task.push();
    });
    await task.dispose();
    return ms;
  });
}

/** Builds the fixture, serves it and measures every step; the timings are in milliseconds. */
export async function measureClone(opts: FixtureOptions & { runs: number; dir?: string }): Promise<Timing[]> {
  const base = opts.dir ? await mkdtemp(join(opts.dir, 'patchbay-bench-')) : await tempDir('patchbay-bench-');
  const token = 'bench-token';
  const server = await startGitHttpServer({ root: join(base, 'remote'), token });
  try {
    await buildCloneFixture(join(base, 'remote', 'acme', 'big.git'), opts);
    const make = (root: string, size: number) =>
      createWorkspaces({
        root,
        remoteUrl: (r) => `${server.url}/${r}.git`,
        credentials: tokenCredentials(token),
        log: createSilentLogger(),
        pool: { size },
      });
    const setup: BenchSetup = { base, url: server.url, token, repo: 'acme/big', runs: opts.runs, make };
    const { cold, warm, ws } = await measureSync(setup);
    const noPool = make(join(base, 'cold0'), 0);
    const pooled = await measureCreateClone(setup, ws, 'p');
    const hits = ws.stats().poolHits;
    const moved = await measureCreateClone(setup, ws, 'm', (i) => advanceRemote(setup, ws, i, 20));
    const movedHits = ws.stats().poolHits - hits;
    if (hits !== opts.runs || movedHits !== opts.runs)
      throw new Error(`pool missed: ${hits}, ${movedHits} hits`);
    return [
      { step: 'syncMirror, cold (first fetch over HTTP)', runs: cold },
      { step: 'syncMirror, warm (nothing new)', runs: warm },
      { step: 'createClone, warm pool (entry at the tip)', runs: pooled, role: 'pool' },
      { step: 'createClone, warm pool, base 20 commits (≈100 files) ahead of the entry', runs: moved },
      {
        step: 'createClone without the pool (clone + full checkout)',
        runs: await measureCreateClone(setup, noPool, 'n'),
        role: 'no-pool',
      },
      { step: 'full `git clone` over HTTP (baseline)', runs: await measureFullClone(setup), role: 'full' },
      { step: 'commit + push of a small change over HTTP', runs: await measurePush(setup, ws) },
    ];
  } finally {
    await server.close();
    await rm(base, { recursive: true, force: true });
  }
}

/** The timings as a markdown table, with the baseline-to-createClone ratios (pool and no pool). */
export function formatTable(timings: Timing[]): string {
  const fmt = (ms: number) => `${ms.toFixed(0)} ms`;
  const rows = timings.map(
    (t) =>
      `| ${t.step} | ${fmt(median(t.runs))} | ${fmt(Math.min(...t.runs))} | ${fmt(Math.max(...t.runs))} |`,
  );
  const medianOf = (role: Timing['role']) => {
    const t = timings.find((x) => x.role === role);
    return t ? median(t.runs) : Number.NaN;
  };
  const full = medianOf('full');
  return [
    '| step | median | min | max |',
    '| --- | ---: | ---: | ---: |',
    ...rows,
    `| **full clone ÷ createClone, warm pool** | **${(full / medianOf('pool')).toFixed(1)}×** | | |`,
    `| **full clone ÷ createClone, no pool** | **${(full / medianOf('no-pool')).toFixed(1)}×** | | |`,
  ].join('\n');
}

async function main(): Promise<void> {
  // BENCH_DIR picks the filesystem (everything, baseline included, runs on the same one).
  const dir = process.env.BENCH_DIR;
  const opts = {
    files: 10_000,
    commits: 2_000,
    runs: Number(process.env.BENCH_RUNS ?? 5),
    ...(dir ? { dir } : {}),
  };
  const started = performance.now();
  const timings = await measureClone(opts);
  console.log(
    `Fixture: ${opts.files} files, ${opts.commits} commits; median of ${opts.runs} runs; in ${dir ?? tmpdir()}.\n`,
  );
  console.log(formatTable(timings));
  console.log(`\n(total ${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
