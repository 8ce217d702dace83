import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chown, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/lib/logger.js';
import { findOwnCgroups } from '../../src/sandbox/cgroup-mounts.js';
import { type CgroupTree, ownWorkerName, TASKS_DIR } from '../../src/sandbox/cgroup-tree.js';
import { openV1Tree } from '../../src/sandbox/cgroup-v1.js';
import { openV2Tree } from '../../src/sandbox/cgroup-v2.js';
import { createSandbox } from '../../src/sandbox/create-sandbox.js';
import { buildLaunchArgv } from '../../src/sandbox/limit-launch.js';
import { probeLimits } from '../../src/sandbox/probe-limits.js';
import type { SandboxRunResult, TaskLimits, TaskSandbox } from '../../src/sandbox/types.js';
import { processStarted, waitUntilGone } from '../fakes/host-processes.js';
import { eventually } from '../fakes/slack-requests.js';
import { cgroupsOf, pidsWith } from '../fakes/task-cgroups.js';

const log = createSilentLogger();
const MiB = 1024 * 1024;
/** Small on purpose: whatever a test does, the machine keeps its memory, processes and disk. */
const LIMITS: TaskLimits = {
  memoryBytes: 256 * MiB,
  processes: 64,
  diskBytes: 200 * MiB,
  tmpBytes: 64 * MiB,
  cpuWeight: 100,
};
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
const own = findOwnCgroups(
  readFileSync('/proc/self/mountinfo', 'utf8'),
  readFileSync('/proc/self/cgroup', 'utf8'),
);
const worker = await ownWorkerName();

async function tryTree(open: () => Promise<CgroupTree>): Promise<CgroupTree | string> {
  try {
    return await open();
  } catch (err) {
    return (err as Error).message;
  }
}

/** cgroup v2 with memory and pids where the host delegates them; else why not. */
const v2 =
  own.v2?.version === 2
    ? await tryTree(() =>
        openV2Tree((own.v2 as { dir: string }).dir, worker, { required: ['memory', 'pids'] }),
      )
    : 'this machine mounts no cgroup v2';
const v1 =
  own.v1?.version === 1
    ? await tryTree(() => openV1Tree((own.v1 as { dirs: Record<string, string> }).dirs, worker))
    : 'this machine mounts no cgroup v1 memory and pids';
if (typeof v1 === 'string' && typeof v2 === 'string') {
  process.stderr.write(
    `\nNOTE: no usable cgroups here (v1: ${v1}; v2: ${v2}): only the path without them is tested.\n`,
  );
}

const MODES: Array<{ name: string; tree: CgroupTree | string | undefined; marker: string }> = [
  { name: 'cgroup v2', tree: v2, marker: '600.721' },
  { name: 'cgroup v1', tree: v1, marker: '600.711' },
  { name: 'without cgroups', tree: undefined, marker: '600.701' },
];

/**
 * A fork bomb whose shell stays: it ends only when something stops it (with `wait` instead, the
 * shell can exit, taking the whole sandbox with it, before the bomb reached the limit).
 */
const BOMB = ':(){ :|:& };:; sleep 60';
/** A perl that takes 200 MiB and keeps it: two of them pass a 256 MiB limit together. */
const HOLD_200_MIB = `perl -e 'my $n = 200 << 20; my $x = "a" x $n; sleep 600'`;

let opened: TaskSandbox[] = [];
let dirs: string[] = [];
let children: ChildProcess[] = [];

async function newWorkdir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'patchbay-limits-test-'));
  dirs.push(dir);
  return dir;
}

beforeEach(() => {
  opened = [];
  dirs = [];
  children = [];
});

afterEach(async () => {
  // A failed test still leaves no process, cgroup or file behind.
  for (const child of children) child.kill('SIGKILL');
  for (const task of opened) await task.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

afterAll(async () => {
  for (const mode of MODES) if (typeof mode.tree === 'object') await mode.tree.close();
});

for (const mode of MODES) {
  const unavailable = typeof mode.tree === 'string' ? mode.tree : undefined;
  const tree = typeof mode.tree === 'object' ? mode.tree : undefined;
  const title = `task limits, ${mode.name}${unavailable ? ` (skipped: ${unavailable})` : ''}`;

  describe.skipIf(unavailable !== undefined)(title, () => {
    const sandbox = createSandbox({ mode: 'bwrap', log, cgroups: tree });

    async function openTask(name: string, workdir?: string) {
      const dir = workdir ?? (await newWorkdir());
      const task = await sandbox.openTask({ taskId: name, workdir: dir, limits: LIMITS });
      opened.push(task);
      const run = (command: string, signal?: AbortSignal): Promise<SandboxRunResult> =>
        task.run({ command, workdir: dir, network: 'none', timeoutMs: 60_000, signal });
      return { task, dir, run };
    }

    it('kills a command whose processes together pass the memory limit, and tells why', async () => {
      const { task, run } = await openTask('tmemory');

      const result = await run(`${HOLD_200_MIB} & ${HOLD_200_MIB} & wait`);

      expect(result.limit).toEqual({
        name: 'memory',
        message: "killed: the task's memory limit of 256 MiB was reached",
      });
      expect(result.exitCode).toBeNull();
      expect(task.peaks().peakMemoryBytes).toBeGreaterThan(200 * MiB);
      expect(task.hits()).toEqual({ memory: 1 });
      expect((await run('echo still here')).output).toBe('still here\n');
    });

    it('bounds a fork bomb by the process limit while another task runs to its end', async () => {
      if (!tree && isRoot) return; // root without cgroups has no process limit: see the non-root test
      const other = await openTask('tother');
      const bomb = await openTask('tbomb');
      const waiting = other.run('while [ ! -e go ]; do sleep 0.05; done; echo other finished');

      const bombed = await bomb.run(BOMB);
      await writeFile(path.join(other.dir, 'go'), '');
      const finished = await waiting;

      expect(bombed.limit).toEqual({
        name: 'processes',
        message: "killed: the task's process limit of 64 was reached",
      });
      expect(finished).toMatchObject({ exitCode: 0, output: 'other finished\n' });
      expect(finished.limit).toBeUndefined();
      expect((await bomb.run('echo after')).output).toBe('after\n');
    });

    it('counts the disk of all the task’s commands together and stops the one that passes the limit', async () => {
      const { task, dir, run } = await openTask('tdisk');

      const first = await run('head -c 120M /dev/zero > one && echo wrote one');
      const second = await run('for i in 1 2 3 4; do head -c 30M /dev/zero > two-$i; done; echo wrote two');
      const cleanup = await run('rm -f two-*; echo cleaned');

      expect(first).toMatchObject({ exitCode: 0, output: 'wrote one\n' });
      expect(second.limit?.name).toBe('disk');
      expect(second.limit?.message).toMatch(/^(killed: )?the task's disk limit of 200 MiB was reached/);
      expect(cleanup).toMatchObject({ exitCode: 0, output: 'cleaned\n' });
      expect(cleanup.limit).toBeUndefined();
      expect(task.peaks().peakDiskBytes).toBeGreaterThan(200 * MiB);
      expect((await stat(path.join(dir, 'one'))).size).toBe(120 * MiB);
    });

    it('stops one file at the disk limit at once (RLIMIT_FSIZE)', async () => {
      const { dir, run } = await openTask('tfsize');

      const result = await run('head -c 300M /dev/zero > big; echo "exit $?"');

      expect((await stat(path.join(dir, 'big'))).size).toBe(200 * MiB);
      expect(result.output).toMatch(/File size limit exceeded|exit 153/);
      expect(result.limit?.name).toBe('disk');
    });

    it('sizes /tmp: a write past its limit fails and the command hears why', async () => {
      const { run } = await openTask('ttmp');

      const result = await run('head -c 100M /dev/zero > /tmp/big; echo "exit $?"; stat -c %s /tmp/big');

      expect(result.output).toContain('No space left on device');
      expect(result.output).toContain(`${64 * MiB}`);
      expect(result.limit).toEqual({
        name: 'tmp',
        message:
          "the task's /tmp limit of 64 MiB was reached: /tmp was full, so writes to it failed (No space left on device)",
      });
    });

    it('kills every process of the task on cancel, a setsid escapee too, and removes its cgroup', async () => {
      const { task, run } = await openTask('tcancel');
      const { marker } = mode;
      const stop = new AbortController();

      const running = run(`sleep ${marker} & setsid sleep ${marker} & sleep ${marker}`, stop.signal);
      await eventually(() => pidsWith(marker).length === 3, 20_000, 'the three sleeps');
      const placed = pidsWith(marker).map((pid) => [...cgroupsOf(pid).values()].join(' '));
      stop.abort();
      const result = await running;
      await task.close();

      expect(result.aborted).toBe(true);
      expect(await waitUntilGone(marker)).toBe(true);
      if (tree) {
        expect(placed).toHaveLength(3);
        for (const paths of placed) expect(paths).toContain(`/${TASKS_DIR}/${worker}/tcancel-`);
        expect(await remainingGroups(tree)).toEqual([]);
      }
    });
  });
}

/** The task groups left under this worker's directory, in the hierarchy that holds pids. */
async function remainingGroups(tree: CgroupTree): Promise<string[]> {
  const base =
    tree.enforcement === 'cgroup_v1'
      ? (own.v1 as { dirs: Record<string, string> }).dirs.pids
      : (own.v2 as { dir: string }).dir;
  return childDirs(path.join(base ?? '', TASKS_DIR, worker));
}

/** A cgroup's child groups: its subdirectories (its files are the controllers' knobs). */
async function childDirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name);
}

/**
 * Where v2 lacks the memory and pids controllers (a hybrid host like this one mounts them on v1), its
 * tree still holds and kills processes: placement, cgroup.kill and removal are tested on it anyway.
 */
const placementTrees: Array<{ name: string; tree: CgroupTree | string }> = [
  {
    name: 'cgroup v2',
    tree:
      typeof v2 === 'object'
        ? v2
        : own.v2?.version === 2
          ? await tryTree(() =>
              openV2Tree((own.v2 as { dir: string }).dir, `${worker}-bare`, { required: [] }),
            )
          : v2,
  },
  { name: 'cgroup v1', tree: v1 },
];

for (const { name, tree } of placementTrees) {
  const unavailable = typeof tree === 'string' ? tree : undefined;
  describe.skipIf(unavailable !== undefined)(
    `task cgroups, ${name}: placement, kill, removal${unavailable ? ` (skipped: ${unavailable})` : ''}`,
    () => {
      afterAll(async () => {
        if (typeof tree === 'object' && tree !== v2) await tree.close();
      });

      it('puts the launcher and all it starts in the group before anything runs, then kills them all at once', async () => {
        const group = await (tree as CgroupTree).createGroup(`tplaced-${name.at(-1)}`, LIMITS);
        const marker = name === 'cgroup v2' ? '600.742' : '600.741';
        const launcher = buildLaunchArgv({
          joinFiles: group.procsFiles,
          file: '/bin/sh',
          args: ['-c', `sleep ${marker} & sleep ${marker} & wait`],
        });
        const child = spawn(launcher.file, launcher.args, { stdio: 'ignore' });
        children.push(child);

        await eventually(() => pidsWith(marker).length === 2, 20_000, 'the two sleeps');
        const placed = pidsWith(marker).map((pid) => [...cgroupsOf(pid).values()].join(' '));
        await group.killAll();
        const gone = await waitUntilGone(marker);
        await group.remove();

        expect(placed).toHaveLength(2);
        for (const paths of placed) expect(paths).toContain(`/${TASKS_DIR}/`);
        expect(gone).toBe(true);
        for (const file of group.procsFiles) expect(existsSync(path.dirname(file))).toBe(false);
      });
    },
  );
}

describe('task limits without cgroups, for a Patchbay that is not root', () => {
  it.skipIf(!isRoot)(
    'bounds a fork bomb by RLIMIT_NPROC counted in the command’s own user namespace',
    async () => {
      const workdir = await newWorkdir();
      await chown(workdir, NOBODY, NOBODY);

      // Each process of this bomb waits for the two it forks, so the bomb lives until it is stopped.
      // (The classic `:(){ :|:& };:` does not: its first shell returns at once, and when it ends the
      // sandbox's pid namespace ends with it, on a busy machine before the bomb reached the limit.)
      const results = await runAsNobody(workdir, ['b(){ b & b & wait; }; b', 'echo after; ulimit -u']);

      // The kernel refuses the forks past 64 (the shell says so, unless the watchdog's sampled count
      // caught the bomb at the limit and ended it before the shell wrote a word), and the limit is
      // RLIMIT_NPROC's (`ulimit -u` below); the agent hears either sentence.
      expect(results[0]?.output).toMatch(/^$|Resource temporarily unavailable/);
      expect(results[0]?.limit?.name).toBe('processes');
      expect(results[0]?.limit?.message).toMatch(/the task's process limit of 64 was reached/);
      expect(results[1]).toMatchObject({ exitCode: 0, output: 'after\n64\n' });
    },
  );
});

describe('the start-up sweep', () => {
  it.skipIf(typeof v1 === 'string' && typeof v2 === 'string')(
    "kills what a SIGKILLed worker left in its task's cgroup and removes the group",
    async () => {
      const workdir = await newWorkdir();
      const child = startLimitedCommands({ workdir, cgroups: 'auto', commands: ['sleep 600.811'] });
      await processStarted('600.811');
      const childWorker = `w${child.pid}-`;
      const before = await workerDirs();
      const dead = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await dead;

      await probeLimits({ require: false, log });
      const after = await workerDirs();

      expect(before.some((name) => name.startsWith(childWorker))).toBe(true);
      expect(after.some((name) => name.startsWith(childWorker))).toBe(false);
      expect(await waitUntilGone('600.811')).toBe(true);
    },
  );
});

describe('requiring limits', () => {
  it('refuses to start without cgroups when PATCHBAY_REQUIRE_LIMITS is set, and says what is missing', async () => {
    const refused = probeLimits({ require: true, cgroups: 'off', log });

    await expect(refused).rejects.toMatchObject({
      code: 'sandbox_unavailable',
      message: expect.stringContaining('PATCHBAY_REQUIRE_LIMITS=1'),
      hint: expect.stringContaining('Delegate=yes'),
    });
  });

  it('says in one line what holds without cgroups', async () => {
    const probe = await probeLimits({ require: false, cgroups: 'off', log });

    expect(probe.enforcement).toBe('rlimits');
    expect(probe.description).toMatch(/^no cgroups \(cgroups turned off\): rlimits per command/);
  });
});

/** The worker directories under Patchbay's task cgroups, in whichever hierarchy this machine uses. */
async function workerDirs(): Promise<string[]> {
  const base =
    typeof v1 === 'object'
      ? (own.v1 as { dirs: Record<string, string> }).dirs.pids
      : (own.v2 as { dir: string }).dir;
  return childDirs(path.join(base ?? '', TASKS_DIR));
}

function startLimitedCommands(
  input: { workdir: string; cgroups: 'auto' | 'off'; commands: string[] },
  asNobody = false,
) {
  // node itself runs the script (tsx as a loader, not its CLI, which would run it in a grandchild),
  // so that the pid the test kills is the worker's.
  const script = path.join(import.meta.dirname, '../fakes/limited-commands.ts');
  const argv = [process.execPath, '--import', 'tsx', script, JSON.stringify({ ...input, limits: LIMITS })];
  const drop = ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', '--'];
  const child = asNobody
    ? spawn('setpriv', [...drop, ...argv], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, HOME: input.workdir },
      })
    : spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return child;
}

async function runAsNobody(workdir: string, commands: string[]): Promise<SandboxRunResult[]> {
  const child = startLimitedCommands({ workdir, cgroups: 'off', commands }, true);
  const results: SandboxRunResult[] = [];
  for await (const line of createInterface({ input: child.stdout as NodeJS.ReadableStream })) {
    const parsed = JSON.parse(line) as SandboxRunResult & { ready?: boolean };
    if (!parsed.ready) results.push(parsed);
  }
  return results;
}
