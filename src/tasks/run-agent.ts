import { pendingToolCalls } from '../agent/resume-transcript.js';
import type { AgentResult, ChatMessage } from '../agent/types.js';
import type { Config } from '../config/load-config.js';
import type { ConversationState } from '../domain/conversation.js';
import type { Reporter } from '../domain/events.js';
import type { ModelSpec } from '../domain/model-spec.js';
import type { KeptWork, TaskStore } from '../domain/ports.js';
import type { TaskRecord } from '../domain/task.js';
import type { Logger } from '../lib/logger.js';
import type { Sandbox } from '../sandbox/types.js';
import type { TaskClone } from '../workspace/types.js';
import type { AgentRunner } from './ports.js';
import { stampOf, type TimelineWriter } from './timeline-writer.js';

export interface RunAgentDeps {
  config: Pick<Config, 'file'>;
  store: TaskStore;
  agent: AgentRunner;
  reporter: Reporter;
  timeline: TimelineWriter;
  /**
   * Keep the work so far on the remote between turns (default). `patchbay run` turns it off: no other
   * worker will resume its task, and its remote may be the person's own checkout.
   */
  keepWork?: boolean;
}

export interface AgentAttempt {
  deps: RunAgentDeps;
  conversation: ConversationState | null;
  model: ModelSpec;
  signal: AbortSignal;
  log: Logger;
  /** Set once this task has kept work on the remote (its ref is to be dropped when the task ends). */
  kept: { any: boolean };
}

/** How this attempt's agent runs: in the task's limited sandbox, its commands capped. */
export interface AgentRun {
  sandbox: Sandbox;
  maxCommandMs: number;
  /** Earlier work in the conversation, for a run that does not continue its transcript. */
  context?: string;
  /** Names the agent's commands may reach through the proxy (told to the model in a new transcript). */
  allowedDomains?: readonly string[];
}

/** Where this attempt's agent starts. */
interface AgentStart {
  transcript: ChatMessage[];
  /** How much of `transcript` this task has stored already. */
  storedLength: number;
  answer?: string;
  followUp?: string;
  /** A retried attempt continues the task's own stored transcript; a follow-up the conversation's. */
  from?: 'attempt' | 'conversation';
  /** The steps the stored transcript had taken (a retried attempt). */
  steps?: number;
}

/**
 * The agent of one attempt, from where the task left off: a retried or interrupted attempt at its last
 * stored reply with the work tree kept for it (the reply's tool calls run again; a `finish` already
 * called is not asked for again), an answered question at the question, a follow-up in the transcript
 * of the conversation's last run unless it asked for a fresh start, anything else from nothing. Each
 * reply is stored before its tool calls run, with the work tree kept as it was then.
 */
export async function runAgent(attempt: AgentAttempt, task: TaskRecord, clone: TaskClone, run: AgentRun) {
  const { deps } = attempt;
  const { context } = run;
  const start = await openAgentStart(attempt, task, clone);
  if (start.from) noteResumed(attempt, task, start);
  const budget = { ...deps.config.file.budget, ...task.request.budget };
  const runs = task.runs;
  const result = await deps.agent.run({
    workdir: clone.dir,
    sandbox: run.sandbox,
    maxCommandMs: run.maxCommandMs,
    readOnlyPaths: [clone.mirrorDir],
    allowedDomains: run.allowedDomains,
    instruction: task.request.instruction,
    // A follow-up continuing the transcript gets its own discussion only; the branch note is moot.
    context: start.from === 'conversation' ? task.request.context : context,
    repo: task.request.repo,
    branch: clone.branch,
    model: attempt.model,
    transcript: start.transcript,
    storedLength: start.storedLength,
    answer: start.answer,
    followUp: start.followUp,
    budget: { steps: budget.steps, ms: budget.minutes * 60_000, usd: budget.usd },
    usedBefore: { steps: start.steps ?? task.steps, usage: task.usage, compactions: task.compactions ?? 0 },
    signal: attempt.signal,
    onActivity: (activity) => deps.timeline.activity(task, activity),
    onStep: async (step) => {
      const current = await deps.store.update(task.id, () => ({ steps: step.step, usage: step.usage }));
      await deps.reporter.report({ type: 'step', task: current, step });
    },
    keepWork:
      deps.keepWork === false
        ? undefined
        : async () => noteKept(attempt, await clone.keepWork(task.id, attempt.signal)),
    onMessages: async (added, turn) => {
      if (turn?.work) {
        await deps.store.appendTranscriptAt(task.id, added, {
          run: runs,
          work: turn.work,
          steps: turn.steps,
        });
      } else await deps.store.appendTranscript(task.id, added);
      if (turn) await deps.store.update(task.id, () => spentOf(turn));
    },
    onCompacted: async (messages, turn) => {
      const point = turn.work ? { run: runs, work: turn.work, steps: turn.steps } : null;
      await deps.store.replaceTranscript(task.id, messages, point);
      await deps.store.update(task.id, () => spentOf(turn));
    },
    log: attempt.log,
  });
  const after = await deps.store.update(task.id, () => ({
    steps: result.steps,
    usage: result.usage,
    compactions: result.compactions,
  }));
  return { result, task: after };
}

const spentOf = (turn: Pick<AgentResult, 'steps' | 'usage' | 'compactions'>) => ({
  steps: turn.steps,
  usage: turn.usage,
  compactions: turn.compactions,
});

function noteKept(attempt: AgentAttempt, work: KeptWork): KeptWork {
  if (work.sha) attempt.kept.any = true;
  return work;
}

async function openAgentStart(
  attempt: AgentAttempt,
  task: TaskRecord,
  clone: TaskClone,
): Promise<AgentStart> {
  const { store } = attempt.deps;
  const stored = await store.rewindToResumePoint(task.id, task.runs);
  if (stored) {
    noteKept(attempt, stored.point.work);
    const restored = await clone.restoreWork(task.id, stored.point.work, attempt.signal);
    if (restored === 'restored' || restored === 'published') {
      const transcript = stored.messages as ChatMessage[];
      return { transcript, storedLength: transcript.length, from: 'attempt', steps: stored.point.steps };
    }
    attempt.log.warn({ restored }, 'the kept work no longer applies to the branch; the agent starts again');
  }
  const answering = task.answer !== undefined;
  // An answer resumes from the transcript as it was when the question was asked: it matches the
  // branch (its work was pushed then). A new run starts empty.
  const transcript = (await store.rewindTranscript(
    task.id,
    answering ? 'question' : 'start',
  )) as ChatMessage[];
  if (answering) return { transcript, storedLength: transcript.length, answer: task.answer };
  const previous = await conversationTranscript(attempt, task, clone);
  if (!previous) return { transcript: [], storedLength: 0 };
  return { transcript: previous, storedLength: 0, followUp: task.request.instruction, from: 'conversation' };
}

/**
 * The transcript of the conversation's last recorded run, for a follow-up that continues it: only when
 * its branch still holds that run's work, and unless the requester asked for a fresh start.
 */
async function conversationTranscript(
  attempt: AgentAttempt,
  task: TaskRecord,
  clone: TaskClone,
): Promise<ChatMessage[] | undefined> {
  const last = attempt.conversation?.lastTaskId;
  if (task.request.fresh || !last || last === task.id || !clone.branchExisted) return undefined;
  const messages = (await attempt.deps.store.getTranscript(last)) as ChatMessage[];
  return messages.length > 0 ? messages : undefined;
}

function noteResumed(attempt: AgentAttempt, task: TaskRecord, start: AgentStart): void {
  const pending = start.from === 'attempt' ? pendingToolCalls(start.transcript) : [];
  attempt.log.info(
    { from: start.from, messages: start.transcript.length, rerun: pending.length },
    'the agent continues earlier work',
  );
  attempt.deps.timeline.add(task.id, {
    type: 'resumed',
    ...stampOf(task),
    from: start.from ?? 'attempt',
    messages: start.transcript.length,
    rerun: pending.length,
    finished: pending.some((call) => call.name === 'finish'),
  });
}
