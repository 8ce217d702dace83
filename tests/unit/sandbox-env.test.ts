import { describe, expect, it } from 'vitest';
import { buildCacheEnv, CACHE_TOOLS } from '../../src/sandbox/cache-env.js';
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

describe('buildCacheEnv', () => {
  it("points every package manager at its own directory of the repository's cache", () => {
    const env = buildCacheEnv('/var/cache/patchbay');

    expect(env).toMatchObject({
      npm_config_cache: '/var/cache/patchbay/npm',
      PIP_CACHE_DIR: '/var/cache/patchbay/pip',
      UV_CACHE_DIR: '/var/cache/patchbay/uv',
      CARGO_HOME: '/var/cache/patchbay/cargo',
      GOMODCACHE: '/var/cache/patchbay/go-mod',
      GOCACHE: '/var/cache/patchbay/go-build',
      YARN_CACHE_FOLDER: '/var/cache/patchbay/yarn',
      npm_config_store_dir: '/var/cache/patchbay/pnpm',
      GRADLE_USER_HOME: '/var/cache/patchbay/gradle',
      MAVEN_OPTS: '-Dmaven.repo.local=/var/cache/patchbay/maven',
    });
    const dirs = Object.values(env).filter((v) => v.startsWith('/var/cache/patchbay/'));
    expect(dirs.map((d) => d.split('/')[4]).filter((t) => !CACHE_TOOLS.includes(t as never))).toEqual([]);
  });
});
