import type { TaskPageUrl } from '../../config/task-page-links.js';
import type { PlaceReporter, TaskEvent, TaskStage } from '../../domain/events.js';
import type { KeyValueStore } from '../../domain/ports.js';
import type { TaskRecord } from '../../domain/task.js';
import { type Clock, systemClock } from '../../lib/clock.js';
import { settleWithin } from '../../lib/deadline.js';
import type { Logger } from '../../lib/logger.js';
import { createCommentSink } from './comment-sink.js';
import { createIssueEffects } from './issue-effects.js';
import type { LinearApi } from './linear-api.js';
import { type CallChain, createCallChain, type LinearSink } from './linear-sink.js';
import { isLinearTarget, type LinearTarget, targetId } from './linear-targets.js';
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
  /** Task pages, linked from sessions and progress comments (none without PATCHBAY_PUBLIC_URL). */
  pageUrl?: TaskPageUrl;
}

export interface LinearReporter extends PlaceReporter {
  /** Resolves once every Linear call queued so far was made (or failed); coalesced steps wait on. */
  settled(): Promise<void>;
  /** Sends what waits for its slot now, then resolves once every queued Linear call was made (or failed). */
  idle(): Promise<void>;
}

interface RunState {
  stage: TaskStage;
  sinks: Map<string, LinearSink>;
  /** What the run does to each of its issues (state, PR attachment), once per issue whatever its places. */
  effects: Map<string, ReturnType<typeof createIssueEffects>>;
}

/**
 * Renders a task's events at every Linear place in its audience, in the worker process: its agent
 * sessions (activities, plan, external URL) and, in assignment mode, a progress comment on the
 * issue; and moves the issue and attaches the pull request, once per issue. A place that joins while
 * the run goes (another session or an assignment on the same issue) gets the current stage, then the
 * rest. Posting never fails the task: errors are logged and the run goes on.
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
    return target.kind === 'linear-issue' ? deps.apis.assignment : deps.apis.agent(target.organizationId);
  }

  async function sinkFor(
    target: LinearTarget,
    task: TaskRecord,
    chain: CallChain,
  ): Promise<LinearSink | null> {
    const api = apiFor(target);
    if (!api) return null;
    if (target.kind === 'linear-session') {
      return createSessionSink({
        sessionId: target.sessionId,
        task,
        api,
        chain,
        actionIntervalMs: deps.actionIntervalMs ?? 5_000,
        clock,
        pageUrl: deps.pageUrl?.(task.id),
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
      pageUrl: deps.pageUrl?.(task.id),
    });
  }

  /** Adds the sinks and issue effects of places new to this run; a late one starts at the current stage. */
  async function addPlaces(run: RunState, event: TaskEvent, places: LinearTarget[]): Promise<void> {
    for (const target of places) {
      const id = targetId(target);
      if (!run.effects.has(target.issueId)) {
        const api = apiFor(target);
        if (api) {
          const chain = createCallChain(log.child({ issueId: target.issueId }), track);
          const effects = createIssueEffects({ issueId: target.issueId, api, kv: deps.kv, chain, log });
          run.effects.set(target.issueId, effects);
        }
      }
      if (run.sinks.has(id)) continue;
      const sink = await sinkFor(target, event.task, createCallChain(log.child({ target: id }), track));
      if (!sink) continue;
      run.sinks.set(id, sink);
      if (event.type === 'step')
        sink.progress({ type: 'stage', task: event.task, stage: run.stage }, run.stage);
    }
  }

  function runOf(event: TaskEvent): RunState {
    const id = `${event.task.id}.${event.task.runs}`;
    const existing = runs.get(id);
    if (existing) return existing;
    const run: RunState = { stage: 'clone', sinks: new Map(), effects: new Map() };
    runs.set(id, run);
    return run;
  }

  return {
    kinds: ['linear-session', 'linear-issue'],
    async report(event, places) {
      if (event.type === 'accepted') return;
      const run = runOf(event);
      if (event.type === 'started' || event.type === 'stage') run.stage = event.stage;
      await addPlaces(run, event, places.filter(isLinearTarget));
      for (const effects of run.effects.values()) void effects.onEvent(event);
      if (event.type === 'started' || event.type === 'stage' || event.type === 'step') {
        for (const sink of run.sinks.values()) sink.progress(event, run.stage);
        return;
      }
      runs.delete(`${event.task.id}.${event.task.runs}`);
      const done = Promise.all([...run.sinks.values()].map((s) => s.end(event, run.stage)));
      await settleWithin(done, deps.finalWaitMs ?? 15_000, clock);
    },
    settled,
    async idle() {
      for (const run of runs.values()) for (const sink of run.sinks.values()) sink.flush();
      await settled();
    },
  };
}
