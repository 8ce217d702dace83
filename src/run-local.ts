import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { buildAgent, buildWorkerDeps, buildWorkerSandbox } from './build-worker-deps.js';
import { FileConfig } from './config/file-schema.js';
import { buildConfig, type Config } from './config/load-config.js';
import type { TaskEvent } from './domain/events.js';
import { newTaskRecord, type TaskRecord } from './domain/task.js';
import { newTaskId } from './lib/ids.js';
import type { Logger } from './lib/logger.js';
import { createRedactor } from './lib/redact.js';
import { secretValues } from './main.js';
import { handleAttempt } from './tasks/handle-attempt.js';
import {
  createMemoryConversationStore,
  createMemoryDiffs,
  createMemoryTaskStore,
  createMemoryTimeline,
} from './tasks/memory-stores.js';
import { createPushOnlyPublisher } from './tasks/publish-changes.js';
import { runTask } from './tasks/run-task.js';
import { resumeWithAnswer } from './tasks/submit-task.js';
import { createTerminalReporter } from './tasks/terminal-reporter.js';
import { createTimelineWriter } from './tasks/timeline-writer.js';
import { createWorkspaces } from './workspace/create-workspaces.js';
import { noCredentials } from './workspace/types.js';

const LOCAL_NAME = 'local/repository';

/**
 * `patchbay run`: one task in the foreground, no Redis, no chat. A local path is cloned, worked on and
 * its branch pushed back to it (no PR); `owner/name` goes through GitHub and opens the PR.
 */
export async function runLocal(opts: {
  repo: string;
  instruction: string;
  base?: string;
  config: Config;
  log: Logger;
  out: NodeJS.WritableStream;
  signal: AbortSignal;
}): Promise<TaskRecord> {
  const local = existsSync(opts.repo);
  const worker = await buildWorkerSandbox(opts.config, opts.log);
  opts.out.write(`sandbox: ${worker.description}\nlimits: ${worker.limits}\n`);
  if (worker.warning) opts.out.write(`WARNING: ${worker.warning}\n`);
  const { sandbox, egress } = worker;
  const scratch = await mkdtemp(join(tmpdir(), 'patchbay-run-'));
  try {
    const { config, deps, repoName } = local
      ? localDeps(opts, resolve(opts.repo), scratch)
      : {
          config: opts.config,
          // One task: a warm clone for a next task would be wasted work.
          deps: buildWorkerDeps(opts.config, opts.log, undefined, { poolSize: 0 }),
          repoName: opts.repo,
        };
    const store = createMemoryTaskStore();
    const conversations = createMemoryConversationStore();
    const timeline = createTimelineWriter({
      timeline: createMemoryTimeline(),
      diffs: createMemoryDiffs(),
      // No sessions here, so no session key to hide.
      redact: createRedactor(secretValues(config.env, undefined)),
      capBytes: config.file.limits.timeline_kb * 1024,
      log: opts.log,
    });
    const terminal = createTerminalReporter(opts.out);
    const reporter = {
      report: async (event: TaskEvent) => {
        await timeline.observer.report(event);
        await terminal.report(event);
      },
    };
    const task = newRecord(repoName, opts.instruction, opts.base);
    await store.create(task, []);
    // One task in the foreground: no other worker resumes it, so nothing is kept on the remote.
    const run = {
      config,
      store,
      conversations,
      sandbox,
      egress,
      reporter,
      timeline,
      log: opts.log,
      keepWork: false,
      ...deps,
    };
    for (;;) {
      const ctx = { taskId: task.id, signal: opts.signal, lastAttempt: true };
      await handleAttempt({ store, conversations, reporter, timeline, log: opts.log }, ctx, () =>
        runTask(run, { taskId: task.id, signal: opts.signal }),
      ).catch(() => undefined);
      const current = await store.get(task.id);
      if (current?.status !== 'waiting_for_input') return current ?? task;
      const answer = await ask(current.question ?? 'the agent has a question');
      await resumeWithAnswer(store, task.id, answer);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await worker.close();
  }
}

function localDeps(opts: { config: Config; log: Logger }, path: string, scratch: string) {
  const file = FileConfig.parse({ ...opts.config.file, repositories: [{ name: LOCAL_NAME }] });
  const config = buildConfig(opts.config.env, file);
  const agent = buildAgent(config, opts.log);
  // One task: a warm clone for a next task would be wasted work.
  const workspaces = createWorkspaces({
    searchPath: process.env.PATH,
    root: scratch,
    remoteUrl: () => path,
    credentials: noCredentials,
    log: opts.log,
    pool: { size: 0 },
  });
  return { config, deps: { workspaces, agent, publisher: createPushOnlyPublisher() }, repoName: LOCAL_NAME };
}

function newRecord(repo: string, instruction: string, base: string | undefined): TaskRecord {
  const id = newTaskId();
  const conversation = `cli:${id}`;
  const origin = { source: 'cli' as const, label: 'patchbay run' };
  return newTaskRecord(id, { repo, instruction, base, conversation, origin });
}

async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return (await rl.question(`${question}\n> `)).trim() || '(no answer)';
  } finally {
    rl.close();
  }
}
