import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/agent/types.js';
import {
  type ScriptedModel,
  type ScriptedRequest,
  type ScriptedTurn,
  startScriptedModel,
} from '../../src/demo/scripted-model.js';
import type { ModelReport } from '../../src/tasks/eval-report.js';

const run = promisify(execFile);
let dir: string | undefined;
let model: ScriptedModel | undefined;
afterEach(async () => {
  await model?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
  model = undefined;
});

const finish: ScriptedTurn = { tool: 'finish', args: { title: 'Fix it', summary: 'Fixed.' } };
const edit = (path: string, old_text: string, new_text: string): ScriptedTurn => ({
  tool: 'edit_file',
  args: { path, old_text, new_text },
});

/**
 * Two models on the example suite. `steady` fixes sum-to and slugify and gets clamp wrong; `sloppy`
 * fixes sum-to only (it gives up on clamp and half-fixes slugify). Each plays its plan by the number of
 * its own turns so far.
 */
const PLANS: Record<string, Record<string, ScriptedTurn[]>> = {
  steady: {
    'sumTo(n)': [
      { tool: 'read_file', args: { path: 'src/sum.js', start_line: null, end_line: null } },
      edit('src/sum.js', 'i < n', 'i <= n'),
      finish,
    ],
    'clamp(x, lo, hi)': [edit('src/clamp.js', 'Math.min(x, lo)', 'Math.min(x, hi - 1)'), finish],
    'every run of spaces': [
      edit('src/slugify.js', ".replace(' ', '-')", ".trim().split(/\\s+/).join('-')"),
      { tool: 'bash', args: { command: 'node --test test/smoke.test.js', timeout_s: 60 } },
      finish,
    ],
  },
  sloppy: {
    'sumTo(n)': [edit('src/sum.js', 'i < n', 'i <= n'), finish],
    'clamp(x, lo, hi)': [finish],
    'every run of spaces': [edit('src/slugify.js', ".replace(' ', '-')", ".replace(/ /g, '-')"), finish],
  },
};

function script(req: ScriptedRequest): ScriptedTurn {
  const messages = req.messages as ChatMessage[];
  const task = JSON.stringify(messages[1]?.content ?? '');
  const plan = Object.entries(PLANS[req.model] ?? {}).find(([key]) => task.includes(key))?.[1] ?? [];
  return plan[messages.filter((m) => m.role === 'assistant').length] ?? finish;
}

function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), 'src/cli.ts', ...args],
    {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('patchbay eval', () => {
  it('runs the example suite on two models: a table each, hidden tests run on the result and never shown', async () => {
    dir = await mkdtemp(join(tmpdir(), 'patchbay-eval-test-'));
    const suiteDir = join(dir, 'eval');
    await cp('examples/eval', suiteDir, { recursive: true });
    const made = await run(process.execPath, [join(suiteDir, 'make-fixture-repo.mjs')]);
    model = await startScriptedModel(script);
    const configPath = join(dir, 'patchbay.yml');
    await writeFile(
      configPath,
      JSON.stringify({
        repositories: [{ name: 'acme/web' }],
        models: [{ name: 'steady' }, { name: 'sloppy' }],
      }),
    );
    const env = {
      OPENAI_BASE_URL: model.url,
      OPENAI_API_KEY: 'sk-eval-test',
      PATCHBAY_CONFIG: configPath,
      PATCHBAY_SANDBOX: 'bwrap',
      LOG_LEVEL: 'warn',
    };

    const out = join(dir, 'results');
    const result = await cli(
      ['eval', join(suiteDir, 'suite.yml'), '--model', 'steady', '--model', 'sloppy', '--json', '--out', out],
      env,
    );

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const suite = await readFile(join(suiteDir, 'suite.yml'), 'utf8');
    expect(suite).toContain(`commit: ${made.stdout.trim()}`);
    const report = JSON.parse(result.stdout) as { outDir: string; models: ModelReport[] };
    const resolved = Object.fromEntries(
      report.models.map((m) => [m.model, Object.fromEntries(m.runs.map((r) => [r.task, r.resolved]))]),
    );
    expect(resolved).toEqual({
      steady: { 'sum-to': true, clamp: false, slugify: true },
      sloppy: { 'sum-to': true, clamp: false, slugify: false },
    });
    const [steady, sloppy] = report.models;
    expect(steady).toMatchObject({
      model: 'steady',
      resolved: 2,
      total: 3,
      steps: { total: 8 },
      compactions: 0,
    });
    expect(sloppy).toMatchObject({ model: 'sloppy', resolved: 1, total: 3, steps: { total: 5 } });
    expect(steady?.tokens.total).toBe(8 * 1_100);
    expect(steady?.tokens.median).toBe(3 * 1_100);
    expect(steady?.runs.find((r) => r.task === 'clamp')?.hiddenTests).toEqual({
      exitCode: 1,
      timedOut: false,
    });
    // Nothing of the hidden tests ever reached the model; each run's transcript is kept for reading.
    const seen = model.requests.map((r) => r.raw).join('\n');
    expect(seen).not.toContain('eval-hidden-marker');
    expect(seen).not.toContain('hidden-tests');
    expect(model.requests.length).toBe(8 + 5);
    const transcript = JSON.parse(await readFile(join(out, 'steady', 'slugify', 'transcript.json'), 'utf8'));
    expect(JSON.stringify(transcript)).toContain('every run of spaces should become one dash');
    expect(await readFile(join(out, 'steady', 'clamp', 'hidden-tests.txt'), 'utf8')).toMatch(/fail 1/);
    // The fixture repository holds none of it either, and nothing was pushed to it.
    const branches = await run('git', [
      '-C',
      join(suiteDir, 'calc-repo'),
      'for-each-ref',
      '--format=%(refname)',
    ]);
    expect(branches.stdout.trim()).toBe('refs/heads/main');
  });

  it('refuses a model that is not in models:, and a suite whose hidden tests lie outside it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'patchbay-eval-test-'));
    const suiteDir = join(dir, 'eval');
    await cp('examples/eval', suiteDir, { recursive: true });
    await run(process.execPath, [join(suiteDir, 'make-fixture-repo.mjs')]);
    await cp(join(suiteDir, 'hidden'), join(dir, 'elsewhere'), { recursive: true });
    const suite = await readFile(join(suiteDir, 'suite.yml'), 'utf8');
    await writeFile(join(suiteDir, 'escape.yml'), suite.replaceAll('files: hidden/', 'files: ../elsewhere/'));
    const env = { OPENAI_API_KEY: 'sk-eval-test', PATCHBAY_CONFIG: join(dir, 'none.yml'), LOG_LEVEL: 'warn' };

    const unknown = await cli(['eval', join(suiteDir, 'suite.yml'), '--model', 'nope'], env);
    const escaping = await cli(['eval', join(suiteDir, 'escape.yml')], env);

    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('there is no model named "nope"');
    expect(unknown.stderr).toContain('`gpt-5-codex`');
    expect(escaping.code).toBe(2);
    expect(escaping.stderr).toContain('tasks.0.hidden_tests.files: must be a directory of the suite');
  });
});
