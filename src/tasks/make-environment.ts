import type { RepositoryConfig } from '../config/file-schema.js';
import type { TaskRecord } from '../domain/task.js';
import type { StageTimes } from '../domain/timeline.js';
import type { Sandbox } from '../sandbox/types.js';
import type { TaskWorkspace } from '../workspace/types.js';
import { commandsOf, type PackageCaches, setupKindOf } from './environment.js';
import { runSetup } from './run-commands.js';
import { stampOf, type TimelineWriter } from './timeline-writer.js';

export interface EnvironmentDeps {
  caches?: PackageCaches;
  /** The repository's `setup_env` values, read from the worker's environment at start. */
  setupEnv(repo: string): Record<string, string>;
  /** The project's redactor: setup_env values are among its secrets. */
  redact(text: string): string;
}

interface InClone {
  sandbox: Sandbox;
  ws: TaskWorkspace;
  repo: RepositoryConfig;
  timeoutMs: number;
  signal: AbortSignal;
}

/**
 * The setup stage of a task: nothing on a prepared entry at the task's commit, the maintenance
 * commands on one of the same key at another commit, the whole setup otherwise. The package cache is
 * writable for a task on the base's code and absent for a follow-up's branch, whose scripts the agent
 * may have written; setup_env goes to these commands only. Writes the `environment` timeline entry.
 */
export async function makeEnvironment(
  opts: InClone,
  deps: { timeline: Pick<TimelineWriter, 'add'>; environment?: EnvironmentDeps },
  task: Pick<TaskRecord, 'id' | 'runs' | 'attempts'>,
): Promise<StageTimes['setup']> {
  const started = performance.now();
  const kind = setupKindOf(opts.repo, opts.ws);
  const commands = commandsOf(opts.repo, kind);
  const env = deps.environment;
  const useCache = commands.length > 0 && !opts.ws.branchExisted && env?.caches !== undefined;
  const cacheDir = useCache ? await env?.caches?.dirFor(opts.repo.name) : undefined;
  if (commands.length > 0) {
    await runSetup({
      ...opts,
      commands,
      ...(env ? { env: env.setupEnv(opts.repo.name), redact: env.redact } : {}),
      ...(cacheDir ? { cache: { dir: cacheDir, writable: true } } : {}),
    });
  }
  if (cacheDir) await env?.caches?.used(cacheDir);
  const ms = performance.now() - started;
  deps.timeline.add(task.id, {
    type: 'environment',
    ...stampOf(task),
    setup: kind,
    durationMs: Math.round(ms),
    commands: commands.length,
    cache: Boolean(cacheDir),
  });
  return { kind, ms };
}
