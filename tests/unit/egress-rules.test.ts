import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { classifyAddress } from '../../src/sandbox/egress-addresses.js';
import { isAllowedName, normalizeHostName, parseAuthority } from '../../src/sandbox/egress-names.js';
import { createPublicResolver } from '../../src/sandbox/egress-resolver.js';
import { parseUpstreamProxy } from '../../src/sandbox/egress-upstream.js';
import { validateRequest } from '../../src/sandbox/validate-request.js';

const DOMAINS = ['registry.npmjs.org', 'example.org'];

describe('name matching', () => {
  it('allows a listed name and its subdomains, nothing that merely ends the same way', () => {
    expect(isAllowedName('registry.npmjs.org', DOMAINS)).toBe(true);
    expect(isAllowedName('a.b.example.org', DOMAINS)).toBe(true);
    expect(isAllowedName('badexample.org', DOMAINS)).toBe(false);
    expect(isAllowedName('npmjs.org', DOMAINS)).toBe(false);
    expect(isAllowedName('example.org.evil.com', DOMAINS)).toBe(false);
  });

  it('compares names lower-cased without a trailing dot, and refuses IP literals and odd strings', () => {
    expect(normalizeHostName('Registry.NPMJS.org.')).toBe('registry.npmjs.org');
    expect(normalizeHostName('127.0.0.1')).toBeUndefined();
    expect(normalizeHostName('::1')).toBeUndefined();
    expect(normalizeHostName('a b.example.org')).toBeUndefined();
    expect(normalizeHostName('')).toBeUndefined();
  });

  it('reads CONNECT authorities', () => {
    expect(parseAuthority('example.org:443')).toEqual({ host: 'example.org', port: 443 });
    expect(parseAuthority('[::1]:443')).toEqual({ host: '[::1]', port: 443 });
    expect(parseAuthority('example.org')).toBeUndefined();
    expect(parseAuthority('example.org:70000')).toBeUndefined();
  });
});

describe('address classification', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['0.0.0.0', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['10.2.3.4', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['fd12:3456::1', 'private'],
    ['::ffff:10.0.0.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['not-an-address', 'loopback'],
  ])('refuses %s as %s', (address, range) => {
    expect(classifyAddress(address, [])).toBe(range);
  });

  it.each(['93.184.216.34', '172.32.0.1', '100.64.0.1', '2606:4700::1111', '8.8.8.8'])(
    'lets %s through (nothing else is refused by range)',
    (address) => {
      expect(classifyAddress(address, [])).toBeUndefined();
    },
  );

  it("refuses the host's own addresses", () => {
    expect(classifyAddress('203.0.113.7', ['203.0.113.7'])).toBe('host');
    expect(classifyAddress('2001:db8::7', ['2001:db8:0::7'])).toBe('host');
  });
});

describe('the production resolver', () => {
  it('refuses a name any of whose addresses is forbidden', async () => {
    const resolve = createPublicResolver({
      lookup: async () => [
        { address: '93.184.216.34', family: 4 },
        { address: '192.168.0.10', family: 4 },
      ],
      ownAddresses: () => [],
    });

    expect(await resolve('example.org')).toEqual({
      ok: false,
      reason: 'forbidden_address',
      range: 'private',
      address: '192.168.0.10',
    });
  });

  it('answers public addresses, and says when a name does not resolve', async () => {
    const resolve = createPublicResolver({
      lookup: async (name) => {
        if (name === 'gone.example.org') throw Object.assign(new Error('nope'), { code: 'ENOTFOUND' });
        return [{ address: '93.184.216.34', family: 4 }];
      },
      ownAddresses: () => [],
    });

    expect(await resolve('example.org')).toEqual({ ok: true, addresses: ['93.184.216.34'] });
    expect(await resolve('gone.example.org')).toEqual({
      ok: false,
      reason: 'unresolved',
      detail: 'ENOTFOUND',
    });
  });
});

describe('the upstream proxy URL', () => {
  it('keeps the credentials as a Proxy-Authorization value', () => {
    expect(parseUpstreamProxy('http://u%40corp:p%3Ass@proxy.corp:8080', 'HTTPS_PROXY')).toEqual({
      host: 'proxy.corp',
      port: 8080,
      authorization: `Basic ${Buffer.from('u@corp:p:ss').toString('base64')}`,
    });
    expect(parseUpstreamProxy('http://proxy.corp', 'HTTPS_PROXY')).toEqual({ host: 'proxy.corp', port: 80 });
  });

  it('names the variable, never its value, when the URL is wrong', () => {
    expect(() => parseUpstreamProxy('socks5://u:hunter2@x:1', 'HTTPS_PROXY')).toThrow(/HTTPS_PROXY must be/);
    expect(() => parseUpstreamProxy('hunter2', 'HTTP_PROXY')).toThrow(/^HTTP_PROXY is not a URL$/);
  });
});

describe('a sandbox request with the proxy', () => {
  it('takes proxyDir with network proxy only, and the other way round', () => {
    const base = { command: 'true', workdir: tmpdir(), timeoutMs: 1000 };

    expect(validateRequest({ ...base, network: 'proxy', proxyDir: tmpdir() }).proxyDir).toBe(tmpdir());
    expect(() => validateRequest({ ...base, network: 'proxy' })).toThrow(
      /proxyDir goes with network 'proxy'/,
    );
    expect(() => validateRequest({ ...base, network: 'none', proxyDir: tmpdir() })).toThrow(/proxyDir/);
  });
});
