import { describe, expect, it } from 'vitest';
import { buildSandboxEnv } from '../../src/sandbox/sandbox-env.js';

describe('buildSandboxEnv', () => {
  it('is the allowlist and nothing of the host', () => {
    process.env.GITHUB_TOKEN = 'ghs_unit_secret';

    const env = buildSandboxEnv('/home/agent');

    expect(env).toEqual({
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: '/home/agent',
      TMPDIR: '/tmp',
      LANG: 'C.UTF-8',
      TERM: 'dumb',
      CI: 'true',
      GIT_TERMINAL_PROMPT: '0',
      PAGER: 'cat',
      GIT_PAGER: 'cat',
    });
    delete process.env.GITHUB_TOKEN;
  });

  it('adds the caller’s extra variables but never lets them move HOME', () => {
    const env = buildSandboxEnv('/home/agent', { NODE_ENV: 'test', HOME: '/root' });

    expect(env.NODE_ENV).toBe('test');
    expect(env.HOME).toBe('/home/agent');
  });

  it('rejects names that are not variable names', () => {
    expect(() => buildSandboxEnv('/h', { 'A=B': 'x' })).toThrow(/not a valid/);
    expect(() => buildSandboxEnv('/h', { OK: 'a\0b' })).toThrow(/not a valid/);
  });
});
