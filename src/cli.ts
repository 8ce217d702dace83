#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FileConfig } from './config/file-schema.js';
import { buildConfig, type Config, loadConfig, parseEnv } from './config/load-config.js';
import { PatchbayError } from './domain/errors.js';
import { createLogger, type Logger } from './lib/logger.js';

const USAGE = `usage: patchbay <command>

  start                          server and worker in one process
  server                         the HTTP side only (webhooks, API)
  worker                         the worker side only (runs tasks from the queue)
  run --repo <owner/name|path> [--base <branch>] "<instruction>"
                                 one task in the foreground, progress on the terminal
  demo                           the whole flow on this machine with loopback stand-ins
  eval <suite.yml> [--model <name>]… [--concurrency <n>] [--out <dir>] [--json]
                                 a suite of tasks with hidden tests on models of models:, a table per model
  schedules [run|pause|resume <name>]
                                 the schedules of patchbay.yml: next and last run, status;
                                 run one now, pause or resume one
  cache clear <owner/name>       on a worker's machine (its PATCHBAY_DATA_DIR): drop the
                                 repository's prepared pool entries and package cache
`;

function fail(message: string, hint?: string): never {
  process.stderr.write(`patchbay: ${message}\n${hint ? `  ${hint}\n` : ''}`);
  process.exit(2);
}

/** Graceful stop on SIGTERM/SIGINT: within a container's usual 10 s grace. */
function onSignals(stop: () => Promise<void>, log: Logger): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(1), 9_500);
    force.unref();
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => handler('SIGTERM'));
  process.on('SIGINT', () => handler('SIGINT'));
}

async function serve(roles: { server: boolean; worker: boolean }): Promise<void> {
  const config = await loadConfig(process.env);
  const log = createLogger({ level: config.env.LOG_LEVEL });
  // Each command imports what it runs, and no more: start-up time is import time.
  const { startServing } = await import('./start-inbox-process.js');
  const running = await startServing({ config, log, ...roles });
  onSignals(running.stop, log);
}

async function run(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { repo: { type: 'string' }, base: { type: 'string' } },
    allowPositionals: true,
  });
  const instruction = positionals.join(' ').trim();
  if (!values.repo || !instruction) fail('run needs --repo and an instruction', USAGE.split('\n')[5]?.trim());
  const env = parseEnv(process.env);
  const log = createLogger({ level: process.env.LOG_LEVEL ?? 'warn' });
  const config: Config =
    existsSync(values.repo) && !existsSync(env.PATCHBAY_CONFIG)
      ? buildConfig(env, FileConfig.parse({ repositories: [{ name: 'local/repository' }] }))
      : await loadConfig(process.env);
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort('cancelled'));
  const { runLocal } = await import('./run-local.js');
  const task = await runLocal({
    repo: values.repo,
    instruction,
    base: values.base,
    config,
    log,
    out: process.stdout,
    signal: controller.signal,
  });
  if (task.branch && task.status === 'succeeded' && existsSync(values.repo)) {
    process.stdout.write(`branch ${task.branch} pushed to ${values.repo}\n`);
  }
  process.exit(task.status === 'succeeded' ? 0 : 1);
}

/** The configuration of a one-shot command: patchbay.yml when there is one, else an empty allowlist. */
async function oneShotConfig(): Promise<Config> {
  const env = parseEnv(process.env);
  if (existsSync(env.PATCHBAY_CONFIG)) return loadConfig(process.env);
  return buildConfig(env, FileConfig.parse({ repositories: [{ name: 'local/repository' }] }));
}

async function evaluate(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      model: { type: 'string', multiple: true },
      concurrency: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
    },
    allowPositionals: true,
  });
  const [suitePath] = positionals;
  if (!suitePath || positionals.length > 1) fail('eval needs one suite file', 'patchbay eval <suite.yml>');
  const config = await oneShotConfig();
  const concurrency = Number(values.concurrency ?? config.env.PATCHBAY_CONCURRENCY);
  if (!Number.isInteger(concurrency) || concurrency < 1) fail('--concurrency must be a whole number above 0');
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort('cancelled'));
  const { runEvalCommand } = await import('./run-eval.js');
  await runEvalCommand({
    suitePath,
    models: values.model ?? [],
    concurrency,
    outDir: values.out,
    json: values.json ?? false,
    config,
    log: createLogger({ level: process.env.LOG_LEVEL ?? 'warn' }),
    out: process.stdout,
    signal: controller.signal,
  });
  process.exit(0);
}

/**
 * `.env` in the working directory, as `cp .env.example .env` leaves it: read by every command but the
 * demo (which brings its own stand-ins). A variable already in the environment wins over the file.
 */
function loadDotEnv(command: string | undefined): void {
  if (command === 'demo' || !existsSync('.env')) return;
  try {
    process.loadEnvFile('.env');
  } catch (err) {
    fail(`could not read .env: ${(err as Error).message}`);
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  loadDotEnv(command);
  switch (command) {
    case 'start':
      return serve({ server: true, worker: true });
    case 'server':
      return serve({ server: true, worker: false });
    case 'worker':
      return serve({ server: false, worker: true });
    case 'run':
      return run(rest);
    case 'eval':
      return evaluate(rest);
    case 'schedules': {
      const { runSchedulesCommand } = await import('./schedules-command.js');
      await runSchedulesCommand(rest, { env: process.env, out: process.stdout });
      process.exit(0);
      return;
    }
    case 'cache': {
      const { runCacheCommand } = await import('./cache-command.js');
      await runCacheCommand(rest, { env: process.env, out: process.stdout });
      process.exit(0);
      return;
    }
    case 'demo': {
      const { runDemo } = await import('./demo/run-demo.js');
      const serveUntil = new Promise((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      const ok = await runDemo({ env: process.env, out: process.stdout, serveUntil });
      process.exit(ok ? 0 : 1);
      return;
    }
    default:
      process.stdout.write(USAGE);
      process.exit(command && command !== 'help' && command !== '--help' ? 2 : 0);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof PatchbayError) fail(err.message, err.hint);
  fail(err instanceof Error ? (err.stack ?? err.message) : String(err));
});
