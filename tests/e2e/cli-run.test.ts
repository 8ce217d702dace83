import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { git } from '../../src/demo/git-fixtures.js';
import { type ScriptedModel, startScriptedModel } from '../../src/demo/scripted-model.js';
import { REPO_FILES } from '../fakes/harness.js';
import { FIX_GREETING } from '../fakes/scripts.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function localRepo(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'patchbay-cli-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await git(['init', '-q', '-b', 'main', dir]);
  for (const [path, content] of Object.entries(REPO_FILES)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  await git(['-C', dir, 'add', '-A']);
  await git([
    '-C',
    dir,
    '-c',
    'user.name=Dev',
    '-c',
    'user.email=dev@example.com',
    'commit',
    '-q',
    '-m',
    'initial commit',
  ]);
  return dir;
}

function runCli(args: string[], model: ScriptedModel, cwd: string) {
  return new Promise<{ code: number | null; out: string }>((resolve) => {
    // tsx is resolved from here: the CLI runs in another working directory, as a user would run it.
    const tsx = import.meta.resolve('tsx');
    const child = spawn(process.execPath, ['--import', tsx, join(process.cwd(), 'src/cli.ts'), ...args], {
      cwd,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        OPENAI_BASE_URL: model.url,
        OPENAI_API_KEY: 'sk-cli-test',
        PATCHBAY_MODEL: 'scripted',
        NODE_OPTIONS: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe('patchbay run', () => {
  it('works on a local checkout in the foreground and pushes its branch back to it', async () => {
    const repo = await localRepo();
    const model = await startScriptedModel(FIX_GREETING);
    cleanups.push(() => model.close());
    const cwd = await mkdtemp(join(tmpdir(), 'patchbay-cwd-'));
    cleanups.push(() => rm(cwd, { recursive: true, force: true }));

    const { code, out } = await runCli(['run', '--repo', repo, 'greet() is missing a comma'], model, cwd);

    expect(out).toContain('sandbox: bubblewrap');
    expect(out).toMatch(/#3 bash: node test\.js/);
    expect(code).toBe(0);
    const branches = (await git(['-C', repo, 'branch', '--format=%(refname:short)']))
      .split('\n')
      .filter(Boolean);
    const branch = branches.find((b) => b.startsWith('patchbay/'));
    expect(branch).toBeDefined();
    expect(out).toContain(`branch ${branch} pushed to ${repo}`);
    expect(await git(['-C', repo, 'show', `${branch}:src/greet.js`])).toContain('`Hello, ${name}`');
    expect(
      await promisify(execFile)('git', ['-C', repo, 'status', '--porcelain']).then((r) => r.stdout),
    ).toBe('');
  });

  it('explains its usage when the instruction is missing', async () => {
    const model = await startScriptedModel([]);
    cleanups.push(() => model.close());

    const { code, out } = await runCli(['run', '--repo', '.'], model, tmpdir());

    expect(code).toBe(2);
    expect(out).toContain('run needs --repo and an instruction');
    expect(model.requests).toHaveLength(0);
  });
});
