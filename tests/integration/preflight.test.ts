import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findExecutable } from '../../src/sandbox/find-executable.js';
import { SANDBOX_PATH } from '../../src/sandbox/sandbox-env.js';
import { runBrowserPreflight, runPreflight } from '../setup/preflight.js';

const HOST_COMMANDS = ['git', 'redis-server'];
const SANDBOX_COMMANDS = ['bwrap', 'slirp4netns', 'ip', 'unshare', 'ps', 'node'];

let dir: string;

/** A directory of symlinks to this machine's real commands. */
async function binWith(name: string, commands: readonly string[]): Promise<string> {
  const bin = path.join(dir, name);
  await mkdir(bin);
  for (const command of commands) {
    const real = findExecutable(command, `${process.env.PATH}:${SANDBOX_PATH}`);
    if (!real) throw new Error(`this machine has no ${command}; the global set-up should have said so`);
    await symlink(real, path.join(bin, command));
  }
  return bin;
}

/** All the commands the tests need but `without`, in one directory. */
function binWithout(...without: string[]): Promise<string> {
  const all = [...HOST_COMMANDS, ...SANDBOX_COMMANDS];
  return binWith(
    'bin',
    all.filter((c) => !without.includes(c)),
  );
}

async function fakeCommand(bin: string, name: string, script: string): Promise<void> {
  await writeFile(path.join(bin, name), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'patchbay-preflight-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('runPreflight', () => {
  it('reports nothing when every command is there, bubblewrap works and Redis answers', async () => {
    const bin = await binWithout('redis-server');

    const report = await runPreflight({ hostPath: bin, sandboxPath: bin });

    expect(report).toBeUndefined();
  });

  it('names each missing command with its Debian package, then the one line that installs them', async () => {
    const bin = await binWithout('slirp4netns', 'ip', 'redis-server', 'node');

    const report = await runPreflight({
      hostPath: bin,
      sandboxPath: bin,
      unansweredRedisUrl: 'redis://127.0.0.1:6399',
    });

    expect(report).toContain('slirp4netns is missing (Debian package slirp4netns)');
    expect(report).toContain('ip is missing (Debian package iproute2)');
    expect(report).toContain(
      'redis-server is missing (Debian package redis-server): nothing answers on redis://127.0.0.1:6399',
    );
    expect(report).toMatch(/node is missing \(install Node 20\.19\+ under \/usr or \/usr\/local/);
    expect(report).toContain(`looked up in ${bin} only`);
    expect(report).toMatch(
      /\n {2}apt-get install -y --no-install-recommends slirp4netns iproute2 redis-server\n$/,
    );
  });

  it('looks for git and redis-server in PATH, and for the sandbox’s programs in the sandbox’s path', async () => {
    const hostBin = await binWith('host-bin', HOST_COMMANDS);
    const sandboxBin = await binWith('sandbox-bin', SANDBOX_COMMANDS);
    const unansweredRedisUrl = 'redis://127.0.0.1:6399';

    const right = await runPreflight({ hostPath: hostBin, sandboxPath: sandboxBin, unansweredRedisUrl });
    const swapped = await runPreflight({ hostPath: sandboxBin, sandboxPath: hostBin, unansweredRedisUrl });

    expect(right).toBeUndefined();
    for (const command of [...HOST_COMMANDS, ...SANDBOX_COMMANDS])
      expect(swapped).toContain(`\n  - ${command} is missing`);
  });

  it('says why bubblewrap cannot create its sandbox', async () => {
    const bin = await binWithout('bwrap', 'redis-server');
    await fakeCommand(bin, 'bwrap', 'echo "bwrap: No permissions to create a new namespace" >&2; exit 1');

    const report = await runPreflight({ hostPath: bin, sandboxPath: bin });

    expect(report).toContain(
      'cannot create its sandbox here: bwrap: No permissions to create a new namespace',
    );
    expect(report).toContain('seccomp=unconfined');
    expect(report).not.toContain('apt-get install');
  });

  it('refuses a git older than 2.38', async () => {
    const bin = await binWithout('git', 'redis-server');
    await fakeCommand(bin, 'git', 'echo "git version 2.34.1"');

    const report = await runPreflight({ hostPath: bin, sandboxPath: bin });

    expect(report).toContain('git 2.34.1');
    expect(report).toContain('is older than 2.38');
  });
});

describe('runBrowserPreflight', () => {
  it('asks for chromium alone, with the line that installs it', async () => {
    const bin = await binWith('bin', ['git', 'bwrap']);

    const report = runBrowserPreflight({ hostPath: bin });

    expect(report).toContain('chromium is missing (Debian package chromium)');
    expect(report).toContain('apt-get install -y --no-install-recommends chromium\n');
    expect(report).not.toMatch(/bubblewrap|redis/);
  });

  it('reports nothing when chromium is on the PATH, whatever else is missing', async () => {
    const bin = await binWith('bin', ['chromium']);

    expect(runBrowserPreflight({ hostPath: bin })).toBeUndefined();
  });
});
