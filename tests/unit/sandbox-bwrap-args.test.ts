import { describe, expect, it } from 'vitest';
import { type BwrapArgsInput, buildBwrapArgs, buildShellArgv } from '../../src/sandbox/bwrap-args.js';
import {
  buildForwarderPrelude,
  buildProxyEnv,
  PROXY_MOUNT,
  PROXY_NODE,
} from '../../src/sandbox/proxy-forwarder.js';

const input: BwrapArgsInput = {
  command: 'npm test',
  workdir: '/var/lib/patchbay/tasks/t1/clone',
  readOnlyPaths: ['/var/lib/patchbay/mirrors/acme/web.git'],
  system: [
    { kind: 'ro-bind', path: '/usr' },
    { kind: 'symlink', path: '/bin', target: 'usr/bin' },
    { kind: 'ro-bind', path: '/etc/passwd' },
  ],
  network: 'isolated',
};

/** The value that follows a flag, for every occurrence of the flag. */
function valuesOf(args: string[], flag: string, width = 1): string[][] {
  return args.flatMap((a, i) => (a === flag ? [args.slice(i + 1, i + 1 + width)] : []));
}

describe('buildBwrapArgs', () => {
  it('unshares every namespace, including the network, and drops capabilities', () => {
    const args = buildBwrapArgs(input);

    expect(args).toEqual(
      expect.arrayContaining(['--unshare-all', '--unshare-user', '--die-with-parent', '--new-session']),
    );
    expect(valuesOf(args, '--cap-drop')).toEqual([['ALL']]);
    expect(args).not.toContain('--share-net');
  });

  it('shares only the prepared namespace in internet mode, with the real ids and a generated resolv.conf', () => {
    const args = buildBwrapArgs({ ...input, network: 'inherited', uid: 1000, gid: 1001, resolvConfFd: 5 });

    expect(args).toContain('--share-net');
    expect(valuesOf(args, '--uid')).toEqual([['1000']]);
    expect(valuesOf(args, '--gid')).toEqual([['1001']]);
    expect(valuesOf(args, '--ro-bind-data', 2)).toEqual([['5', '/etc/resolv.conf']]);
  });

  it('mounts the system read-only, the clone writable at /workspace and the mirror read-only in place', () => {
    const args = buildBwrapArgs(input);

    expect(valuesOf(args, '--ro-bind', 2)).toEqual([
      ['/usr', '/usr'],
      ['/etc/passwd', '/etc/passwd'],
      ['/var/lib/patchbay/mirrors/acme/web.git', '/var/lib/patchbay/mirrors/acme/web.git'],
    ]);
    expect(valuesOf(args, '--symlink', 2)).toEqual([['usr/bin', '/bin']]);
    expect(valuesOf(args, '--bind', 2)).toEqual([['/var/lib/patchbay/tasks/t1/clone', '/workspace']]);
    expect(valuesOf(args, '--tmpfs')).toEqual([['/tmp'], ['/home/agent']]);
    expect(valuesOf(args, '--chdir')).toEqual([['/workspace']]);
  });

  it("binds a repository's package cache only when asked, writable only when asked", () => {
    const cache = '/var/lib/patchbay/caches/acme+web-1234.git';

    const none = buildBwrapArgs(input);
    const writable = buildBwrapArgs({ ...input, cache: { dir: cache, writable: true } });
    const readOnly = buildBwrapArgs({ ...input, cache: { dir: cache, writable: false } });

    expect(none.join(' ')).not.toContain('/var/cache/patchbay');
    expect(valuesOf(writable, '--bind', 2)).toContainEqual([cache, '/var/cache/patchbay']);
    expect(valuesOf(readOnly, '--ro-bind', 2)).toContainEqual([cache, '/var/cache/patchbay']);
    expect(valuesOf(readOnly, '--bind', 2)).not.toContainEqual([cache, '/var/cache/patchbay']);
  });

  it('never binds the host root or the whole of /etc', () => {
    const args = buildBwrapArgs(input);
    const sources = [
      ...valuesOf(args, '--bind'),
      ...valuesOf(args, '--ro-bind'),
      ...valuesOf(args, '--dev-bind'),
    ];

    expect(sources.flat()).not.toContain('/');
    expect(sources.flat()).not.toContain('/etc');
  });

  it('makes the skeleton read-only after the last mount and ends with the command', () => {
    const args = buildBwrapArgs(input);
    const sep = args.indexOf('--');

    expect(args.lastIndexOf('--remount-ro')).toBeGreaterThan(args.lastIndexOf('--ro-bind'));
    expect(args.slice(sep + 1)).toEqual(buildShellArgv('npm test'));
    expect(args.at(-1)).toBe('npm test');
  });
});

describe('the agent network through the proxy', () => {
  it('keeps the network isolated and mounts the proxy directory and node read-only at fixed paths', () => {
    const args = buildBwrapArgs({
      ...input,
      mounts: [
        { source: '/tmp/patchbay-proxy-x', target: PROXY_MOUNT },
        { source: '/usr/bin/node', target: PROXY_NODE },
      ],
      prelude: buildForwarderPrelude(),
    });

    expect(args).not.toContain('--share-net');
    expect(valuesOf(args, '--ro-bind', 2)).toEqual(
      expect.arrayContaining([
        ['/tmp/patchbay-proxy-x', '/run/patchbay/proxy'],
        ['/usr/bin/node', '/run/patchbay/node'],
      ]),
    );
    expect(valuesOf(args, '--bind', 2)).toEqual([['/var/lib/patchbay/tasks/t1/clone', '/workspace']]);
    expect(args.at(-3)).toContain('/run/patchbay/proxy/proxy.sock 3128');
  });

  it('points both spellings of the proxy variables at the forwarder on the sandbox’s own loopback', () => {
    expect(buildProxyEnv()).toMatchObject({
      HTTPS_PROXY: 'http://127.0.0.1:3128',
      https_proxy: 'http://127.0.0.1:3128',
      HTTP_PROXY: 'http://127.0.0.1:3128',
      http_proxy: 'http://127.0.0.1:3128',
      NO_PROXY: 'localhost,127.0.0.1,::1',
    });
  });
});
