import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildAgent } from './build-worker-deps.js';
import { loadEvalSuite } from './config/eval-suite.js';
import type { Config } from './config/load-config.js';
import { PatchbayError } from './domain/errors.js';
import type { ModelSpec } from './domain/model-spec.js';
import type { Logger } from './lib/logger.js';
import { createSandbox } from './sandbox/create-sandbox.js';
import { probeSandbox } from './sandbox/probe-sandbox.js';
import { type ModelReport, renderReport, summarizeRuns } from './tasks/eval-report.js';
import { runEval } from './tasks/run-eval.js';
import { createWorkspaces, type Workspaces } from './workspace/create-workspaces.js';
import { noCredentials, tokenCredentials } from './workspace/types.js';

export interface EvalOptions {
  suitePath: string;
  /** Names from `models:`; else the suite's `models:`, else the default model. */
  models: string[];
  concurrency: number;
  /** Where each run's transcript and result go (default `eval-results/<suite>-<time>`). */
  outDir?: string;
  json: boolean;
  config: Config;
  log: Logger;
  out: NodeJS.WritableStream;
  signal: AbortSignal;
}

/**
 * `patchbay eval <suite.yml>`: runs the suite on each model and prints a table per model (or, with
 * `--json`, one JSON document for CI). Nothing is published: no push, no pull request. Returns the
 * reports.
 */
export async function runEvalCommand(opts: EvalOptions): Promise<ModelReport[]> {
  const suite = await loadEvalSuite(opts.suitePath);
  const models = chooseModels(opts, suite.models);
  const probe = await probeSandbox({ mode: opts.config.env.PATCHBAY_SANDBOX });
  if (probe.warning) opts.out.write(`WARNING: ${probe.warning}\n`);
  const sandbox = createSandbox({ mode: probe.mode, log: opts.log });
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  const outDir = resolve(
    opts.outDir ?? join('eval-results', `${suite.name.replace(/[^A-Za-z0-9._-]+/g, '_')}-${stamp}`),
  );
  const scratch = await mkdtemp(join(tmpdir(), 'patchbay-eval-'));
  const agent = buildAgent(opts.config, opts.log);
  try {
    const local = evalWorkspaces(opts, join(scratch, 'local'), true);
    const github = evalWorkspaces(opts, join(scratch, 'github'), false);
    if (!opts.json)
      opts.out.write(
        `eval ${suite.name}: ${suite.tasks.length} tasks × ${models.length} models, sandbox ${probe.description}\n`,
      );
    const runs = await runEval(
      {
        agent,
        sandbox,
        workspacesFor: (task) => (task.local ? local : github),
        config: opts.config.file,
        log: opts.log,
      },
      {
        suite,
        models,
        concurrency: opts.concurrency,
        outDir,
        signal: opts.signal,
        onRun: (run) => {
          if (!opts.json)
            opts.out.write(
              `  ${run.model} ${run.task}: ${run.resolved ? 'resolved' : 'not resolved'} (${run.outcome})\n`,
            );
        },
      },
    );
    const reports = summarizeRuns(runs);
    if (opts.json)
      opts.out.write(`${JSON.stringify({ suite: suite.name, outDir, models: reports }, null, 2)}\n`);
    else opts.out.write(`\n${renderReport(reports)}\n\nTranscripts and results: ${outDir}\n`);
    return reports;
  } finally {
    await rm(scratch, { recursive: true, force: true, maxRetries: 3 });
  }
}

function chooseModels(opts: EvalOptions, fromSuite: string[] | undefined): ModelSpec[] {
  const names = opts.models.length > 0 ? opts.models : (fromSuite ?? []);
  if (names.length === 0) return [opts.config.models.default];
  return names.map((name) => {
    const found = opts.config.models.find(name);
    if (found) return found;
    throw new PatchbayError('invalid_config', `there is no model named "${name}" in models:`, {
      hint: `choose among ${opts.config.models.describe()}`,
    });
  });
}

/**
 * Workspaces for the suite's repositories: a local path is its own remote (nothing is ever pushed
 * there); `owner/name` is cloned from GITHUB_SERVER_URL with GITHUB_TOKEN when set. No clone pool:
 * every run starts from its own commit.
 */
function evalWorkspaces(opts: EvalOptions, root: string, local: boolean): Workspaces {
  const server = opts.config.env.GITHUB_SERVER_URL.replace(/\/+$/, '');
  return createWorkspaces({
    searchPath: process.env.PATH,
    root,
    remoteUrl: local ? (repo) => repo : (repo) => `${server}/${repo}.git`,
    credentials: local ? noCredentials : tokenCredentials(opts.config.env.GITHUB_TOKEN),
    log: opts.log,
    pool: { size: 0 },
  });
}
