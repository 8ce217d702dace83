/**
 * What a task's limits cost and how soon they act, on this machine, printed as tables:
 * 1. the overhead of the limits on a task's commands: a sandboxed `true`, a `node -e` loop and a
 *    `tar` of 3,000 files, each without limits (the baseline, plain `sandbox.run`) and in a task
 *    sandbox with cgroups and without them, interleaved in the same run;
 * 2. how long from crossing a limit to the task being told (the command's result in hand), per
 *    limit and enforcement. The command prints a timestamp as it goes (after each chunk of memory or
 *    disk, before the fork bomb); the last one printed is the crossing, give or take one chunk.
 * Run with `npx tsx bench/limits.ts` (as root, or with a delegated cgroup subtree, for the cgroup rows).
 */
import { spawnSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createSilentLogger } from '../src/lib/logger.js';
import { createSandbox } from '../src/sandbox/create-sandbox.js';
import { probeLimits } from '../src/sandbox/probe-limits.js';
import type { Sandbox, SandboxHost, TaskLimits } from '../src/sandbox/types.js';

const MiB = 1024 * 1024;
/** The defaults of patchbay.yml: what a task's commands normally run under. */
const DEFAULTS: TaskLimits = {
  memoryBytes: 4096 * MiB,
  processes: 1024,
  diskBytes: 10_240 * MiB,
  tmpBytes: 1024 * MiB,
  cpuWeight: 100,
};
/** Small, for crossing them quickly and safely. */
const SMALL: TaskLimits = {
  memoryBytes: 256 * MiB,
  processes: 64,
  diskBytes: 200 * MiB,
  tmpBytes: 64 * MiB,
  cpuWeight: 100,
};

const WORKLOADS = [
  { name: 'sandboxed `true`', command: 'true', runs: 30 },
  {
    name: '`node -e` loop (5e7 additions)',
    command: 'node -e "let s = 0; for (let i = 0; i < 5e7; i++) s += i; console.log(s)"',
    runs: 8,
  },
  { name: '`tar` of 3,000 files to /tmp', command: 'tar -cf /tmp/src.tar src && echo ok', runs: 8 },
];

/**
 * A fork bomb whose shell stays: it ends only when something stops it (with `wait` instead, the
 * shell can exit, taking the whole sandbox with it, before the bomb reached the limit).
 */
const BOMB = ':(){ :|:& };:; sleep 60';
const CROSSINGS = [
  {
    limit: 'memory (16 MiB chunks)',
    command: `perl -MTime::HiRes=time -e '$| = 1; my @a; while (1) { push @a, "a" x (16 << 20); printf "T%.6f\\n", time }'`,
  },
  { limit: 'processes (fork bomb)', command: `echo T$(date +%s.%N); ${BOMB}` },
  {
    // A timestamp before each file; past 200 MiB the command stops writing and waits: only the
    // watchdog ends it. The crossing is inside the last write, so the delay includes part of it.
    limit: 'disk (10 MiB files)',
    command:
      'for i in $(seq 40); do echo T$(date +%s.%N); head -c 10M /dev/zero > f$i; ' +
      'if [ "$(du -s -B1 . | cut -f1)" -gt 209715200 ]; then exec sleep 60; fi; done',
  },
];
/** A user for the rows without cgroups when the bench runs as root: the kernel exempts root from RLIMIT_NPROC. */
const NOBODY = 65534;

type Mode = { name: string; open: () => Promise<Sandbox & { close?: () => Promise<unknown> }> };

export async function main(): Promise<void> {
  if (process.argv[2] === '--crossings-without-cgroups') {
    await crossingsWithoutCgroups(process.argv[3] ?? '');
    return;
  }
  const log = createSilentLogger();
  const probe = await probeLimits({ require: false, log });
  const withCgroups = createSandbox({ mode: 'bwrap', log, cgroups: probe.cgroups });
  const without = createSandbox({ mode: 'bwrap', log });
  const workdir = await mkdtemp(join(tmpdir(), 'patchbay-bench-limits-'));
  try {
    await writeSources(workdir);
    const taskIn = (host: SandboxHost, limits: TaskLimits, id: string) => () =>
      host.openTask({ taskId: id, workdir, limits });
    const modes: Mode[] = [
      { name: 'no limits (baseline)', open: async () => without },
      ...(probe.cgroups
        ? [{ name: probe.enforcement.replace('_', ' '), open: taskIn(withCgroups, DEFAULTS, 'tbench') }]
        : []),
      { name: 'rlimits + watchdogs', open: taskIn(without, DEFAULTS, 'tbench') },
    ];
    console.log(`limits: ${probe.description}\n`);
    await printOverhead(modes, workdir);
    console.log('\n| limit crossed | enforcement | told after, median ms | max ms | told |');
    console.log('| --- | --- | ---: | ---: | ---: |');
    if (probe.cgroups) {
      const name = probe.enforcement.replace('_', ' ');
      await printCrossings({ name, open: taskIn(withCgroups, SMALL, 'tcross') }, workdir);
    }
    if (process.getuid?.() === 0) await crossAsNobody(workdir);
    else
      await printCrossings({ name: 'rlimits + watchdogs', open: taskIn(without, SMALL, 'tcross') }, workdir);
  } finally {
    await rm(workdir, { recursive: true, force: true });
    await probe.cgroups?.close();
  }
}

async function writeSources(workdir: string): Promise<void> {
  for (let d = 0; d < 30; d += 1) {
    await mkdir(join(workdir, 'src', `pkg${d}`), { recursive: true });
    for (let f = 0; f < 100; f += 1) {
      await writeFile(
        join(workdir, 'src', `pkg${d}`, `file${f}.ts`),
        `export const v${f} = ${'x'.repeat(2000)};\n`,
      );
    }
  }
}

async function printOverhead(modes: Mode[], workdir: string): Promise<void> {
  console.log(`| command | ${modes.map((m) => `${m.name} median / p90 ms`).join(' | ')} |`);
  console.log(`| --- | ${modes.map(() => '---:').join(' | ')} |`);
  for (const workload of WORKLOADS) {
    const times = modes.map(() => [] as number[]);
    const sandboxes = await Promise.all(modes.map((m) => m.open()));
    for (let run = 0; run < workload.runs; run += 1) {
      // Interleaved, so that whatever else the machine does weighs on every mode alike.
      for (const [i, sandbox] of sandboxes.entries()) {
        const started = performance.now();
        const result = await sandbox.run({
          command: workload.command,
          workdir,
          network: 'none',
          timeoutMs: 120_000,
        });
        if (result.exitCode !== 0) throw new Error(`${workload.name} failed: ${result.output.slice(-500)}`);
        times[i]?.push(performance.now() - started);
      }
    }
    for (const sandbox of sandboxes) await sandbox.close?.();
    console.log(
      `| ${workload.name} | ${times.map((t) => `${fmt(median(t))} / ${fmt(p90(t))}`).join(' | ')} |`,
    );
  }
}

/** As another user: a fork bomb as root without cgroups would be bounded by nothing but the watchdog. */
async function crossAsNobody(workdir: string): Promise<void> {
  await chown(workdir, NOBODY, NOBODY);
  await chmod(workdir, 0o755);
  const drop = ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', '--'];
  const self = [
    process.execPath,
    '--import',
    'tsx',
    process.argv[1] ?? '',
    '--crossings-without-cgroups',
    workdir,
  ];
  const child = spawnSync('setpriv', [...drop, ...self], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, HOME: workdir },
  });
  if (child.status !== 0) throw new Error(`the rows without cgroups failed (exit ${child.status})`);
}

async function crossingsWithoutCgroups(workdir: string): Promise<void> {
  const without = createSandbox({ mode: 'bwrap', log: createSilentLogger() });
  const open = () => without.openTask({ taskId: 'tcross', workdir, limits: SMALL });
  await printCrossings({ name: 'rlimits + watchdogs (uid 65534)', open }, workdir);
}

async function printCrossings(mode: Mode, workdir: string): Promise<void> {
  const RUNS = 5;
  for (const crossing of CROSSINGS) {
    const delays: number[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      const sandbox = await mode.open();
      const result = await sandbox.run({
        command: crossing.command,
        workdir,
        network: 'none',
        timeoutMs: 60_000,
      });
      const told = performance.timeOrigin + performance.now();
      await sandbox.close?.();
      await cleanDisk(workdir);
      const last = [...result.output.matchAll(/^T(\d+\.\d+)$/gm)].at(-1)?.[1];
      if (result.limit && last) delays.push(told - Number(last) * 1000);
      else process.stderr.write(`${crossing.limit}, ${mode.name}: not told (${result.output.slice(-200)})\n`);
    }
    const row = [
      crossing.limit,
      mode.name,
      fmt(median(delays)),
      fmt(Math.max(...delays)),
      `${delays.length}/${RUNS}`,
    ];
    console.log(`| ${row.join(' | ')} |`);
  }
}

/** The disk crossing leaves files in the clone; the next run starts from the same clone. */
async function cleanDisk(workdir: string): Promise<void> {
  for (let i = 1; i <= 100; i += 1) await rm(join(workdir, `f${i}`), { force: true });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function p90(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.9) - 1)] ?? Number.NaN;
}

const fmt = (ms: number) => (ms < 10 ? ms.toFixed(1) : ms.toFixed(0));

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main();
}
