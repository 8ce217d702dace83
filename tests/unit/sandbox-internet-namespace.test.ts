import { describe, expect, it } from 'vitest';
import {
  buildBlockedRoutes,
  buildNamespaceArgv,
  buildRouteBatch,
  NAMESPACE_SCRIPT,
} from '../../src/sandbox/internet-namespace.js';

describe('buildBlockedRoutes', () => {
  it('blocks link-local, private ranges, the slirp gateway and the host’s own addresses', () => {
    const routes = buildBlockedRoutes(['203.0.113.7', '10.1.2.3']);

    expect(routes).toEqual(
      expect.arrayContaining([
        '169.254.0.0/16',
        '10.0.0.0/8',
        '172.16.0.0/12',
        '192.168.0.0/16',
        '10.0.2.2/32',
      ]),
    );
    expect(routes).toContain('203.0.113.7/32');
    expect(routes).toContain('10.1.2.3/32');
  });

  it('ignores anything that is not an IPv4 address', () => {
    const routes = buildBlockedRoutes(['fe80::1', '1.2.3.4; reboot']);

    expect(routes.some((r) => r.includes(':') || r.includes(';'))).toBe(false);
  });
});

describe('buildRouteBatch', () => {
  it('brings loopback up then prohibits each range', () => {
    expect(buildRouteBatch(['169.254.0.0/16', '10.0.2.2/32'])).toBe(
      'link set lo up\nroute add prohibit 169.254.0.0/16\nroute add prohibit 10.0.2.2/32',
    );
  });
});

describe('buildNamespaceArgv', () => {
  it('passes routes and bwrap as arguments, never inside the script', () => {
    const argv = buildNamespaceArgv({
      unshare: '/usr/bin/unshare',
      ip: '/usr/sbin/ip',
      routeBatch: 'route add prohibit 169.254.0.0/16',
      bwrap: '/usr/bin/bwrap',
      bwrapArgs: ['--unshare-all', '--share-net'],
    });

    expect(argv.file).toBe('/usr/bin/unshare');
    expect(argv.args.slice(0, 4)).toEqual(['--user', '--map-root-user', '--net', '--']);
    expect(argv.args.slice(-5)).toEqual([
      '/usr/sbin/ip',
      'route add prohibit 169.254.0.0/16',
      '/usr/bin/bwrap',
      '--unshare-all',
      '--share-net',
    ]);
    expect(NAMESPACE_SCRIPT).not.toContain('169.254');
  });
});
