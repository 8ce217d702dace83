import type { Reporter, TaskEvent, TaskStage } from '../../domain/events.js';
import type { KeyValueStore } from '../../domain/ports.js';
import type { TaskRecord } from '../../domain/task.js';
import { type Clock, systemClock, waitAtMost } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { createCommentSink } from './comment-sink.js';
import { createIssueEffects } from './issue-effects.js';
import type { LinearApi } from './linear-api.js';
import { type CallChain, createCallChain, type LinearSink } from './linear-sink.js';
import { type LinearTarget, primaryTarget, targetId, targetsOf } from './linear-targets.js';
import { createSessionSink } from './session-sink.js';

/** The Linear API for each mode: the agent's per workspace, and the bot user's (assignment mode). */
export interface LinearApis {
  agent(organizationId: string | undefined): LinearApi;
  assignment?: LinearApi;
  /** The bot user's handle, to tell people how to answer (assignment mode). */
  botHandle?(): Promise<string | undefined>;
}

export interface LinearReporterDeps {
  apis: LinearApis;
  kv: KeyValueStore;
  log: Logger;
  /** At most one `action` activity per this many ms (default 5 s); the steps in between are one. */
  actionIntervalMs?: number;
  /** At most one edit of a progress comment per this many ms (default 3 s). */
  editIntervalMs?: number;
  /** How long a final report may hold up the task (default 15 s); the rest goes on in the background. */
  finalWaitMs?: number;
  clock?: Clock;
}

export interface LinearReporter extends Reporter {
  /** Resolves once every Linear call queued so far was made (or failed); coalesced steps wait on. */
  settled(): Promise<void>;
  /** Sends what waits for its slot now, then resolves once every queued Linear call was made (or failed). */
  idle(): Promise<void>;
}

interface RunState {
  stage: TaskStage;
  sinks: Map<string, LinearSink>;
  effects?: ReturnType<typeof createIssueEffects>;
  /** When the attached places were last read from the key-value store. */
  targetsReadAt: number;
}

const TARGETS_REFRESH_MS = 2_000;

/**
 * Renders a Linear task's events in every place it reports to, in the worker process: its agent
 * sessions (activities, plan, external URL) and, in assignment mode, a progress comment on the
 * issue; and moves the issue and attaches the pull request. Places attached while the run goes
 * (another session or an assignment on the same issue) are picked up within a couple of seconds.
 * Posting never fails the task: errors are logged and the run goes on.
 */
export function createLinearReporter(deps: LinearReporterDeps): LinearReporter {
  const clock = deps.clock ?? systemClock;
  const runs = new Map<string, RunState>();
  const inFlight = new Set<Promise<void>>();
  const log = deps.log;
  const track = (p: Promise<void>) => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };

  async function settled(): Promise<void> {
    while (inFlight.size) await Promise.allSettled([...inFlight]);
  }

  function apiFor(target: LinearTarget): LinearApi | undefined {
    return target.kind === 'issue' ? deps.apis.assignment : deps.apis.agent(target.organizationId);
  }

  async function sinkFor(
    target: LinearTarget,
    task: TaskRecord,
    chain: CallChain,
  ): Promise<LinearSink | null> {
    const api = apiFor(target);
    if (!api) return null;
    if (target.kind === 'session') {
      return createSessionSink({
        sessionId: target.sessionId,
        task,
        api,
        chain,
        actionIntervalMs: deps.actionIntervalMs ?? 5_000,
        clock,
      });
    }
    return createCommentSink({
      issueId: target.issueId,
      task,
      api,
      kv: deps.kv,
      chain,
      editIntervalMs: deps.editIntervalMs ?? 3_000,
      botHandle: await deps.apis.botHandle?.().catch(() => undefined),
      clock,
      log,
    });
  }

  /** Adds the sinks of places attached since the last look; a late one starts at the current stage. */
  async function refreshTargets(run: RunState, event: TaskEvent, force: boolean): Promise<void> {
    if (!force && clock.now() - run.targetsReadAt < TARGETS_REFRESH_MS) return;
    run.targetsReadAt = clock.now();
    const targets = await targetsOf(event.task, deps.kv).catch(() => [] as LinearTarget[]);
    for (const target of targets) {
      const id = targetId(target);
      if (run.sinks.has(id)) continue;
      const sink = await sinkFor(target, event.task, createCallChain(log.child({ target: id }), track));
      if (!sink) continue;
      run.sinks.set(id, sink);
      if (event.type === 'step')
        sink.progress({ type: 'stage', task: event.task, stage: run.stage }, run.stage);
    }
  }

  function runOf(event: TaskEvent): RunState | null {
    const id = `${event.task.id}.${event.task.runs}`;
    const existing = runs.get(id);
    if (existing) return existing;
    const primary = primaryTarget(event.task);
    const issueId = event.task.request.origin.ref.issueId;
    const run: RunState = { stage: 'clone', sinks: new Map(), targetsReadAt: 0 };
    const api = primary ? apiFor(primary) : undefined;
    if (api && issueId) {
      const chain = createCallChain(log.child({ issueId }), track);
      run.effects = createIssueEffects({ issueId, api, kv: deps.kv, chain, log });
    }
    runs.set(id, run);
    return run;
  }

  return {
    async report(event) {
      if (event.type === 'accepted') return;
      const run = runOf(event);
      if (!run) return;
      if (event.type === 'started' || event.type === 'stage') run.stage = event.stage;
      await refreshTargets(run, event, event.type !== 'step');
      void run.effects?.onEvent(event);
      if (event.type === 'started' || event.type === 'stage' || event.type === 'step') {
        for (const sink of run.sinks.values()) sink.progress(event, run.stage);
        return;
      }
      runs.delete(`${event.task.id}.${event.task.runs}`);
      const done = Promise.all([...run.sinks.values()].map((s) => s.end(event, run.stage)));
      await waitAtMost(clock, deps.finalWaitMs ?? 15_000, done);
    },
    settled,
    async idle() {
      for (const run of runs.values()) for (const sink of run.sinks.values()) sink.flush();
      await settled();
    },
  };
}
