/**
 * Prepared environments, through the real server, queue, worker, bubblewrap sandbox (setup with
 * internet through slirp4netns), git over HTTP and the API: a repository whose setup is `npm ci` of a
 * real lockfile (bench/fixtures/environments: 40 common packages, 216 in the lockfile), installed
 * from the npm registry inside the sandbox; the model stand-in answers at once (`finish`, no change).
 * Prints POST → first model request with and without prepared entries, a burst, a moved base, and a
 * cold setup with a warm against an empty package cache. Run with `npx tsx bench/environments.ts`.
 */
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { commitToBare } from '../src/demo/git-fixtures.js';
import type { ScriptedRequest } from '../src/demo/scripted-model.js';
import { createSilentLogger } from '../src/lib/logger.js';
import { CACHE_TOOLS } from '../src/sandbox/cache-env.js';
import { createSandbox } from '../src/sandbox/create-sandbox.js';
import { ensureCacheDir } from '../src/workspace/package-caches.js';
import { type Harness, isFinal, REPO, startHarness } from '../tests/fakes/harness.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'environments');
const SETUP = 'npm ci --no-audit --no-fund --loglevel=error';
const SEQUENTIAL = 5;
const BURST = 8;

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? Number.NaN;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** The model's requests as they arrive, by the task instruction they carry. */
function recordingModel() {
  const arrivals: Array<{ at: number; text: string }> = [];
  const script = (req: ScriptedRequest) => {
    arrivals.push({ at: Date.now(), text: JSON.stringify(req.messages) });
    return { tool: 'finish', args: { title: 'Nothing to change', summary: 'Benchmark task.' } };
  };
  const firstRequest = (instruction: string) => arrivals.find((a) => a.text.includes(instruction))?.at;
  return { script, firstRequest };
}

async function start(poolSize: number, model: ReturnType<typeof recordingModel>): Promise<Harness> {
  const h = await startHarness({
    script: model.script,
    file: {
      repositories: [
        { name: REPO, setup: [SETUP], maintenance: ['npm run build --silent'], pool_size: poolSize },
      ],
    },
    env: { PATCHBAY_CONCURRENCY: '4', LOG_LEVEL: 'info' },
  });
  await commitToBare(join(h.dir, 'remote', `${REPO}.git`), {
    branch: 'main',
    message: 'Add dependencies',
    files: {
      'package.json': await readFile(join(FIXTURE, 'package.json'), 'utf8'),
      'package-lock.json': await readFile(join(FIXTURE, 'package-lock.json'), 'utf8'),
      '.gitignore': 'node_modules/\n',
    },
  });
  return h;
}

let seq = 0;

/** POST → first model request of one task, and how its environment was made. */
async function oneTask(h: Harness, model: ReturnType<typeof recordingModel>) {
  const instruction = `benchmark task ${++seq}`;
  const t0 = Date.now();
  const created = await h.createTask({ instruction, conversation: `bench-${seq}` });
  const task = await h.waitFor(created.body.id, isFinal, 600_000);
  if (task.status !== 'succeeded') throw new Error(`task failed: ${JSON.stringify(task.error)}`);
  const { body } = await h.get(`/api/tasks/${created.body.id}/events?limit=1000`);
  const env = (body.events as Array<{ entry: { type: string; setup?: string; durationMs?: number } }>).find(
    (e) => e.entry.type === 'environment',
  )?.entry;
  return {
    ms: (model.firstRequest(instruction) ?? Number.NaN) - t0,
    setup: env?.setup ?? '?',
    setupMs: env?.durationMs ?? 0,
  };
}

/** Waits until the worker logged `n` prepared entries ready or refreshed since line `from`. */
async function entriesReady(h: Harness, from: number, n: number): Promise<number> {
  const done = () =>
    h.logLines
      .slice(from)
      .filter(
        (l) =>
          l.includes('"msg":"pool entry ready"') || l.includes('"msg":"pool entry brought to the new base"'),
      ).length;
  while (done() < n) await new Promise((r) => setTimeout(r, 100));
  return h.logLines.length;
}

async function sequential(poolSize: number) {
  const model = recordingModel();
  const h = await start(poolSize, model);
  try {
    const cold = await oneTask(h, model);
    let mark = 0;
    const later = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      // Each later task is posted once the pool holds what the last one used (refilled in the background).
      if (poolSize > 0) mark = await entriesReady(h, mark, i === 0 ? poolSize : 1);
      later.push(await oneTask(h, model));
    }
    return { cold, later };
  } finally {
    await h.close();
  }
}

async function burstAndMovedBase() {
  const model = recordingModel();
  const h = await start(2, model);
  try {
    await oneTask(h, model);
    let mark = await entriesReady(h, 0, 2);
    const burst = await Promise.all(Array.from({ length: BURST }, () => oneTask(h, model)));
    mark = await entriesReady(h, mark, 2);
    await commitToBare(join(h.dir, 'remote', `${REPO}.git`), {
      branch: 'main',
      message: 'Docs only',
      files: { 'README.md': '# web, moved\n' },
    });
    const moved = await oneTask(h, model);
    return { burst, moved };
  } finally {
    await h.close();
  }
}

/** npm ci in the sandbox in a fresh checkout, with the package cache empty, then warm. */
async function cacheRuns() {
  const dir = await mkdtemp(join(tmpdir(), 'patchbay-bench-cache-'));
  const sandbox = createSandbox({ mode: 'bwrap', log: createSilentLogger() });
  try {
    const work = join(dir, 'work');
    await cp(FIXTURE, work, { recursive: true });
    const cache = { dir: await ensureCacheDir(dir, REPO, CACHE_TOOLS), writable: true };
    const run = async () => {
      await rm(join(work, 'node_modules'), { recursive: true, force: true });
      const t0 = performance.now();
      const r = await sandbox.run({
        command: SETUP,
        workdir: work,
        network: 'internet',
        timeoutMs: 600_000,
        cache,
      });
      if (r.exitCode !== 0) throw new Error(`npm ci failed: ${r.output.slice(-500)}`);
      return performance.now() - t0;
    };
    const empty = await run();
    const warm = await run();
    return { empty, warm };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const withPool = await sequential(2);
  const without = await sequential(0);
  const { burst, moved } = await burstAndMovedBase();
  const cache = await cacheRuns();

  const p50 = (xs: Array<{ ms: number }>) =>
    pct(
      xs.map((x) => x.ms),
      0.5,
    );
  const laterWith = p50(withPool.later);
  const laterWithout = p50(without.later);
  console.log(
    `\n| POST → first model request (${SETUP}) | prepared entries (pool_size: 2) | without (pool_size: 0) |`,
  );
  console.log('| --- | ---: | ---: |');
  console.log(
    `| first task (cold: empty cache, no entry) | ${s(withPool.cold.ms)} (${withPool.cold.setup}) | ${s(without.cold.ms)} (${without.cold.setup}) |`,
  );
  console.log(`| ${SEQUENTIAL} more, one after the other: p50 | ${s(laterWith)} | ${s(laterWithout)} |`);
  console.log(
    `| setup kinds of those ${SEQUENTIAL} | ${withPool.later.map((x) => x.setup).join(', ')} | ${without.later.map((x) => x.setup).join(', ')} |`,
  );
  console.log(
    `| p50 / cold | ${((100 * laterWith) / withPool.cold.ms).toFixed(0)} % | ${((100 * laterWithout) / without.cold.ms).toFixed(0)} % |`,
  );

  const prepared = burst.filter((b) => b.setup === 'prepared').length;
  console.log(`\n| burst of ${BURST} (pool_size: 2, PATCHBAY_CONCURRENCY=4) | |\n| --- | ---: |`);
  console.log(`| started on a prepared entry | ${prepared} of ${BURST} |`);
  console.log(`| POST → first model request p50 | ${s(p50(burst))} |`);
  console.log(
    `| POST → first model request p95 | ${s(
      pct(
        burst.map((b) => b.ms),
        0.95,
      ),
    )} |`,
  );

  console.log('\n| base moved by one commit (README only) | |\n| --- | ---: |');
  console.log(`| setup kind of the next task | ${moved.setup} |`);
  console.log(`| its setup stage (npm run build) | ${s(moved.setupMs)} |`);
  console.log(`| POST → first model request | ${s(moved.ms)} |`);

  console.log(`\n| cold \`${SETUP}\` in the sandbox | time |\n| --- | ---: |`);
  console.log(`| empty package cache | ${s(cache.empty)} |`);
  console.log(`| warm package cache | ${s(cache.warm)} |`);
}

await main();
