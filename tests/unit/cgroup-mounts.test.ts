import { describe, expect, it } from 'vitest';
import { findOwnCgroups } from '../../src/sandbox/cgroup-mounts.js';

const V1_MOUNTS = [
  '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct',
  '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer',
  '39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids',
  '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n');

describe('finding Patchbay’s own cgroups', () => {
  it('reads each v1 controller’s hierarchy and the v2 one on a hybrid host', () => {
    const self = [
      '9:pids:/svc',
      '4:memory:/svc/x',
      '2:cpu,cpuacct:/',
      '6:freezer:/svc',
      '0::/svc.scope',
    ].join('\n');

    const own = findOwnCgroups(V1_MOUNTS, self);

    expect(own.v1).toEqual({
      version: 1,
      dirs: {
        memory: '/sys/fs/cgroup/memory/svc/x',
        pids: '/sys/fs/cgroup/pids/svc',
        cpu: '/sys/fs/cgroup/cpu,cpuacct',
        freezer: '/sys/fs/cgroup/freezer/svc',
      },
    });
    expect(own.v2).toEqual({ version: 2, dir: '/sys/fs/cgroup/unified/svc.scope' });
  });

  it('finds a delegated v2 service (systemd) and a container’s namespace root', () => {
    const mounts = '30 23 0:27 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate';

    expect(findOwnCgroups(mounts, '0::/system.slice/patchbay.service\n').v2).toEqual({
      version: 2,
      dir: '/sys/fs/cgroup/system.slice/patchbay.service',
    });
    expect(findOwnCgroups(mounts, '0::/\n').v2).toEqual({ version: 2, dir: '/sys/fs/cgroup' });
  });

  it('maps a bind-mounted subtree, and refuses a cgroup outside it or one deleted', () => {
    const mounts = '30 23 0:27 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw';

    expect(findOwnCgroups(mounts, '0::/docker/abc/inner\n').v2).toEqual({
      version: 2,
      dir: '/sys/fs/cgroup/inner',
    });
    expect(findOwnCgroups(mounts, '0::/elsewhere\n').v2).toBeUndefined();
    expect(findOwnCgroups(mounts, '0::/docker/abc (deleted)\n').v2).toBeUndefined();
  });

  it('finds nothing where nothing is mounted', () => {
    expect(findOwnCgroups('', '0::/\n')).toEqual({});
  });
});
