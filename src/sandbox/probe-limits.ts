import { readFile } from 'node:fs/promises';
import { PatchbayError } from '../domain/errors.js';
import type { Logger } from '../lib/logger.js';
import { findOwnCgroups } from './cgroup-mounts.js';
import { type CgroupTree, ownWorkerName } from './cgroup-tree.js';
import { openV1Tree } from './cgroup-v1.js';
import { openV2Tree } from './cgroup-v2.js';
import type { LimitEnforcement } from './types.js';

export interface LimitsProbe {
  enforcement: LimitEnforcement;
  /** Where task cgroups go; absent without cgroups. */
  cgroups: CgroupTree | undefined;
  /** One line for start-up: which limits hold and how. */
  description: string;
}

export interface ProbeLimitsOptions {
  /** 'off' forces the path without cgroups (tests; a host whose cgroups Patchbay must not touch). */
  cgroups?: 'auto' | 'off';
  /** PATCHBAY_REQUIRE_LIMITS=1: refuse to start without cgroups. */
  require: boolean;
  log: Logger;
  /** The host as /proc describes it; read from /proc when absent. */
  mountinfo?: string;
  selfCgroup?: string;
}

const HINT =
  'give Patchbay a writable cgroup subtree: under systemd, Delegate=yes in its unit (docs/patchbay.service); ' +
  'in a container, its own cgroup namespace and a writable /sys/fs/cgroup (docker-compose.yml); see docs/limits.md';

/**
 * Finds where this worker can put one cgroup per task: a delegated cgroup v2 subtree with memory and
 * pids, else the v1 memory and pids hierarchies, each under Patchbay's own cgroup. Removes the groups
 * that dead workers left there (the start-up sweep). Without either, task sandboxes fall back to
 * rlimits and watchdogs, unless `require` is set: then it throws.
 */
export async function probeLimits(opts: ProbeLimitsOptions): Promise<LimitsProbe> {
  const reasons: string[] = [];
  const tree = opts.cgroups === 'off' ? undefined : await openTree(opts, reasons);
  if (opts.cgroups === 'off') reasons.push('cgroups turned off');
  if (tree) {
    const removed = await tree.sweep();
    if (removed > 0) opts.log.info({ removed }, 'removed task cgroups left by dead workers');
    return {
      enforcement: tree.enforcement,
      cgroups: tree,
      description: `${tree.description}; disk (clone + scratch) watched by Patchbay; /tmp, HOME and /dev/shm sized tmpfs; no core files`,
    };
  }
  const why = reasons.join('; ') || 'no cgroup hierarchy found';
  if (opts.require) {
    throw new PatchbayError(
      'sandbox_unavailable',
      `PATCHBAY_REQUIRE_LIMITS=1 but there are no cgroups to use: ${why}`,
      {
        hint: HINT,
      },
    );
  }
  return { enforcement: 'rlimits', cgroups: undefined, description: describeFallback(why) };
}

async function openTree(opts: ProbeLimitsOptions, reasons: string[]): Promise<CgroupTree | undefined> {
  const mountinfo = opts.mountinfo ?? (await readFile('/proc/self/mountinfo', 'utf8').catch(() => ''));
  const selfCgroup = opts.selfCgroup ?? (await readFile('/proc/self/cgroup', 'utf8').catch(() => ''));
  const own = findOwnCgroups(mountinfo, selfCgroup);
  const worker = await ownWorkerName();
  if (own.v2?.version === 2) {
    try {
      return await openV2Tree(own.v2.dir, worker, { required: ['memory', 'pids'] });
    } catch (err) {
      reasons.push(`cgroup v2: ${describe(err)}`);
    }
  }
  if (own.v1?.version === 1) {
    try {
      return await openV1Tree(own.v1.dirs, worker);
    } catch (err) {
      reasons.push(`cgroup v1: ${describe(err)}`);
    }
  }
  if (!own.v1 && !own.v2) reasons.push('no cgroup file system is mounted');
  return undefined;
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code && e.path) return `cannot write ${e.path} (${e.code})`;
  return e.message ?? String(err);
}

function describeFallback(why: string): string {
  const root = process.getuid?.() === 0;
  const processes = root
    ? 'processes NOT limited (the kernel exempts root from RLIMIT_NPROC)'
    : 'processes per command (RLIMIT_NPROC in its own user namespace)';
  return (
    `no cgroups (${why}): rlimits per command (address space of each process = memory_mb, ${processes}, ` +
    'file size = disk_mb, no core files), memory sampled and disk (clone + scratch) watched by Patchbay, ' +
    '/tmp, HOME and /dev/shm sized tmpfs, commands at nice 10 (cpu_weight needs cgroups)'
  );
}
