import { cp, mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { AgentActivity, AgentResult, ChatMessage } from '../agent/types.js';
import type { LoadedSuite } from '../config/eval-suite.js';
import type { FileConfig } from '../config/file-schema.js';
import { toPatchbayError } from '../domain/errors.js';
import type { ModelSpec } from '../domain/model-spec.js';
import { emptyUsage, type Usage } from '../domain/task.js';
import type { Logger } from '../lib/logger.js';
import type { Sandbox } from '../sandbox/types.js';
import type { Workspaces } from '../workspace/create-workspaces.js';
import type { TaskClone } from '../workspace/types.js';
import type { AgentRunner } from './ports.js';

export interface EvalDeps {
  agent: AgentRunner;
  sandbox: Sandbox;
  /** The workspaces a suite task's repository is cloned with (a local path, or GitHub). */
  workspacesFor(task: { local: boolean }): Workspaces;
  config: Pick<FileConfig, 'budget' | 'limits'>;
  log: Logger;
}

/** One task of the suite run on one model. */
export interface EvalRun {
  model: string;
  task: string;
  resolved: boolean;
  /** How the agent ended: `finished`, `question` (nobody answers in an eval), `budget`, or `error`. */
  outcome: 'finished' | 'question' | 'budget' | 'cancelled' | 'error';
  error?: string;
  steps: number;
  usage: Usage;
  compactions: number;
  wallMs: number;
  hiddenTests: { exitCode: number | null; timedOut: boolean } | null;
  /** Where the run's transcript and result were written. */
  dir: string;
}

/**
 * `patchbay eval`: every task of the suite on every model, `concurrency` at a time, with the loop,
 * sandbox and budgets of real tasks and nothing published. After the agent ends, the suite's hidden
 * test files are copied over the result and their command runs there in the sandbox (no network);
 * exit 0 within its time means resolved. Each run's transcript, what it did and its result are
 * written under `outDir/<model>/<task>/`.
 */
export async function runEval(
  deps: EvalDeps,
  opts: {
    suite: LoadedSuite;
    models: ModelSpec[];
    concurrency: number;
    outDir: string;
    signal: AbortSignal;
    onRun?: (run: EvalRun) => void;
  },
): Promise<EvalRun[]> {
  const jobs = opts.models.flatMap((model) => opts.suite.tasks.map((task) => ({ model, task })));
  const runs: EvalRun[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < jobs.length; i = next++) {
      const job = jobs[i];
      if (!job || opts.signal.aborted) continue;
      const run = await runOne(deps, { ...job, outDir: opts.outDir, signal: opts.signal });
      runs[i] = run;
      opts.onRun?.(run);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, worker));
  return runs.filter(Boolean);
}

type SuiteTask = LoadedSuite['tasks'][number];

async function runOne(
  deps: EvalDeps,
  job: { model: ModelSpec; task: SuiteTask; outDir: string; signal: AbortSignal },
): Promise<EvalRun> {
  const { model, task } = job;
  const dir = join(job.outDir, safeName(model.name), task.id);
  await mkdir(dir, { recursive: true });
  const started = Date.now();
  const workspaces = deps.workspacesFor(task);
  const kept: { transcript: ChatMessage[]; activities: AgentActivity[] } = { transcript: [], activities: [] };
  let clone: TaskClone | undefined;
  let result: AgentResult | undefined;
  let failure: string | undefined;
  let tests: (EvalRun['hiddenTests'] & { output: string }) | null = null;
  try {
    await workspaces.syncMirror(task.repo, job.signal);
    const taskId = `eval-${safeName(model.name)}-${task.id}`.slice(0, 80);
    clone = await workspaces.createClone({
      repo: task.repo,
      taskId,
      branch: `patchbay/eval-${task.id}`,
      base: task.commit,
    });
    await runSetup(deps, clone, task, job.signal);
    result = await runAgent(deps, clone, model, task, kept, job.signal);
    if (result.outcome.kind === 'finished') tests = await runHiddenTests(deps, clone, task, job.signal);
  } catch (err) {
    failure = toPatchbayError(err).message;
    deps.log.warn({ model: model.name, task: task.id, err: failure }, 'eval run failed');
  } finally {
    await clone?.dispose().catch(() => undefined);
  }
  const run: EvalRun = {
    model: model.name,
    task: task.id,
    resolved: tests?.exitCode === 0 && !tests.timedOut,
    outcome: failure ? 'error' : (result?.outcome.kind ?? 'error'),
    error: failure ?? (result?.outcome.kind === 'budget' ? result.outcome.message : undefined),
    steps: result?.steps ?? 0,
    usage: result?.usage ?? emptyUsage(),
    compactions: result?.compactions ?? 0,
    wallMs: Date.now() - started,
    hiddenTests: tests ? { exitCode: tests.exitCode, timedOut: tests.timedOut } : null,
    dir,
  };
  if (tests) await writeFile(join(dir, 'hidden-tests.txt'), tests.output);
  await writeFile(
    join(dir, 'transcript.json'),
    `${JSON.stringify(result?.transcript ?? kept.transcript, null, 2)}\n`,
  );
  await writeFile(join(dir, 'activities.jsonl'), kept.activities.map((a) => JSON.stringify(a)).join('\n'));
  await writeFile(join(dir, 'result.json'), `${JSON.stringify(run, null, 2)}\n`);
  return run;
}

async function runSetup(deps: EvalDeps, clone: TaskClone, task: SuiteTask, signal: AbortSignal) {
  for (const command of task.setup) {
    const result = await deps.sandbox.run({
      command,
      workdir: clone.dir,
      readOnlyPaths: [clone.mirrorDir],
      network: 'internet',
      timeoutMs: deps.config.limits.setup_minutes * 60_000,
      signal,
    });
    if (result.exitCode !== 0)
      throw new Error(`setup command \`${command}\` failed: ${result.output.slice(-2_000)}`);
  }
}

function runAgent(
  deps: EvalDeps,
  clone: TaskClone,
  model: ModelSpec,
  task: SuiteTask,
  kept: { transcript: ChatMessage[]; activities: AgentActivity[] },
  signal: AbortSignal,
): Promise<AgentResult> {
  const { budget } = deps.config;
  return deps.agent.run({
    workdir: clone.dir,
    sandbox: deps.sandbox,
    readOnlyPaths: [clone.mirrorDir],
    instruction: task.instruction,
    // A local repository is named by its directory: the host's path is none of the model's business.
    repo: task.local ? basename(task.repo) : task.repo,
    branch: clone.branch,
    model,
    transcript: [],
    budget: { steps: budget.steps, ms: budget.minutes * 60_000, usd: budget.usd },
    usedBefore: { steps: 0, usage: emptyUsage() },
    signal,
    onStep: () => undefined,
    onActivity: (activity) => kept.activities.push(activity),
    onMessages: async (added) => {
      kept.transcript.push(...added);
    },
    onCompacted: async (messages) => {
      kept.transcript = [...messages];
    },
    log: deps.log.child({ model: model.name, task: task.id }),
  });
}

/**
 * The hidden tests: copied over the result (replacing any file of the same name the agent wrote),
 * then their command, in the sandbox without network, like the checks of a real task.
 */
async function runHiddenTests(deps: EvalDeps, clone: TaskClone, task: SuiteTask, signal: AbortSignal) {
  await cp(task.hiddenDir, clone.dir, { recursive: true, force: true });
  const timeoutS = task.hidden_tests.timeout_seconds ?? deps.config.limits.check_minutes * 60;
  const result = await deps.sandbox.run({
    command: task.hidden_tests.command,
    workdir: clone.dir,
    readOnlyPaths: [clone.mirrorDir],
    network: 'none',
    timeoutMs: timeoutS * 1000,
    signal,
  });
  return { exitCode: result.exitCode, timedOut: result.timedOut, output: result.output.slice(-20_000) };
}

/** A model or task name as one path segment. */
export function safeName(name: string): string {
  return name
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, 100);
}
