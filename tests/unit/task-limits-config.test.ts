import { describe, expect, it } from 'vitest';
import { limitsFor } from '../../src/config/limits-for.js';
import { parseEnv, parseFileConfig } from '../../src/config/load-config.js';
import { PatchbayError } from '../../src/domain/errors.js';
import { buildRlimitPrelude } from '../../src/sandbox/limit-launch.js';
import { killedBy } from '../../src/sandbox/limit-messages.js';
import { toTaskLimits } from '../../src/tasks/limited-attempt.js';

const errorOf = (fn: () => unknown): PatchbayError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof PatchbayError) return err;
    throw err;
  }
  throw new Error('expected an error');
};

describe('limits in patchbay.yml', () => {
  it('has the documented defaults', () => {
    const file = parseFileConfig('repositories:\n  - name: acme/web\n');

    expect(file.limits).toEqual({
      setup_minutes: 10,
      check_minutes: 10,
      command_seconds: 600,
      memory_mb: 4096,
      processes: 1024,
      disk_mb: 10240,
      tmp_mb: 1024,
      cpu_weight: 100,
      timeline_kb: 2048,
    });
  });

  it("lets a repository's own limits replace the top-level ones it names", () => {
    const file = parseFileConfig(
      [
        'limits: { memory_mb: 2048, processes: 512 }',
        'repositories:',
        '  - name: acme/web',
        '    limits: { memory_mb: 8192, disk_mb: 20480 }',
        '  - name: acme/api',
      ].join('\n'),
    );
    const [web, api] = file.repositories;

    expect(limitsFor(file, web ?? { limits: undefined })).toMatchObject({
      memory_mb: 8192,
      processes: 512,
      disk_mb: 20480,
      tmp_mb: 1024,
    });
    expect(limitsFor(file, api ?? { limits: undefined })).toMatchObject({ memory_mb: 2048, disk_mb: 10240 });
  });

  it('names the field and what is wrong with it', () => {
    const err = errorOf(() =>
      parseFileConfig(
        'limits: { memory_mb: 10, cpu_weight: 0 }\nrepositories:\n  - name: acme/web\n    limits: { procs: 5 }\n',
      ),
    );

    expect(err.code).toBe('invalid_config');
    expect(err.message).toContain('limits.memory_mb');
    expect(err.message).toContain('at least 64 (MiB)');
    expect(err.message).toContain('limits.cpu_weight');
    expect(err.message).toMatch(/repositories\.0\.limits.*procs/);
  });

  it('refuses a /tmp larger than the disk it counts toward, at the top level and once a repository’s keys apply', () => {
    const err = errorOf(() =>
      parseFileConfig(
        'limits: { disk_mb: 512, tmp_mb: 256 }\nrepositories:\n  - name: acme/web\n    limits: { tmp_mb: 1024 }\n  - name: acme/api\n',
      ),
    );

    expect(err.message).toContain(
      'repositories.0.limits (acme/web): tmp_mb (1024) is more than disk_mb (512); /tmp counts toward disk_mb',
    );
    expect(err.message).not.toContain('patchbay.yml limits:');
    expect(err.message).not.toContain('acme/api');
  });

  it('reads PATCHBAY_REQUIRE_LIMITS as a switch, off by default', () => {
    expect(parseEnv({}).PATCHBAY_REQUIRE_LIMITS).toBe(false);
    expect(parseEnv({ PATCHBAY_REQUIRE_LIMITS: '1' }).PATCHBAY_REQUIRE_LIMITS).toBe(true);
    expect(errorOf(() => parseEnv({ PATCHBAY_REQUIRE_LIMITS: 'yes please' })).message).toContain(
      'PATCHBAY_REQUIRE_LIMITS',
    );
  });
});

describe('what the sandbox is given', () => {
  const limits = toTaskLimits(parseFileConfig('repositories:\n  - name: acme/web\n').limits);

  it('turns MiB into bytes', () => {
    expect(limits).toEqual({
      memoryBytes: 4 * 1024 ** 3,
      processes: 1024,
      diskBytes: 10 * 1024 ** 3,
      tmpBytes: 1024 ** 3,
      cpuWeight: 100,
    });
  });

  it('sets no core files and a file size cap always, address space and processes only without cgroups', () => {
    expect(buildRlimitPrelude(limits, { cgroups: true, ownUserNamespace: true })).toBe(
      '{ ulimit -c 0; ulimit -f 10485760; } 2>/dev/null',
    );
    expect(buildRlimitPrelude(limits, { cgroups: false, ownUserNamespace: true })).toBe(
      '{ ulimit -c 0; ulimit -f 10485760; ulimit -v 4194304; ulimit -u 1024; } 2>/dev/null',
    );
    // Outside a user namespace of its own (PATCHBAY_SANDBOX=none), RLIMIT_NPROC would count the host user's processes.
    expect(buildRlimitPrelude(limits, { cgroups: false, ownUserNamespace: false })).not.toContain(
      'ulimit -u',
    );
  });

  it('words a limit the way the agent and the requester read it', () => {
    expect(killedBy('memory', limits).message).toBe("killed: the task's memory limit of 4 GiB was reached");
    expect(killedBy('processes', limits).message).toBe(
      "killed: the task's process limit of 1024 was reached",
    );
    expect(killedBy('disk', limits, '10.2 GiB in the clone and scratch space').message).toBe(
      "killed: the task's disk limit of 10 GiB was reached (10.2 GiB in the clone and scratch space)",
    );
  });
});
