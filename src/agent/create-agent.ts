import type OpenAI from 'openai';
import { PatchbayError } from '../domain/errors.js';
import { type ModelSpec, modelByName } from '../domain/model-spec.js';
import type { Logger } from '../lib/logger.js';
import {
  type AgentSession,
  createSession,
  endRun,
  keepWork,
  persist,
  reportActivity,
  sessionBudgetHit,
  sessionUsage,
  timeLeftMs,
} from './agent-session.js';
import { addTokens, formatMs, priceTokens } from './budget.js';
import { startTranscript } from './build-prompt.js';
import { callModel, type ModelReply } from './call-model.js';
import { compactContext } from './compact-context.js';
import { prefixShare, recordOverflow, recordRequest } from './context-meter.js';
import { readAgentsMd } from './read-agents-md.js';
import { pendingToolCalls, resumeTranscript } from './resume-transcript.js';
import { appendReply, cancelledOutcome, runToolCalls } from './run-tool-calls.js';
import type { AgentResult, AgentRunInput, ChatMessage, Pricing } from './types.js';

export interface AgentDeps {
  /** Built by the caller with a small `maxRetries` (2): the SDK retries 5xx, 429 and connection errors. */
  openai: OpenAI;
  /**
   * The model of a run that names none: a spec, or a name (its window from the table of known
   * models, its price from `pricing`).
   */
  model: ModelSpec | string;
  /** USD per million tokens by model name, for a `model` given by name; without an entry, no cost limit. */
  pricing?: Record<string, Pricing>;
  log: Logger;
  limits?: {
    /** The longest one bash command may run, whatever the model asks (default 10 minutes). */
    toolTimeoutMs?: number;
    /** Malformed replies in a row before the run fails with `model_malformed` (default 3). */
    maxMalformed?: number;
  };
  /** Compaction near the context limit (default on); off only to measure what it saves (bench/). */
  compact?: boolean;
}

type Reply = Extract<ModelReply, { kind: 'reply' }>;

/**
 * The agent loop: model turn, tool calls, repeat, until `finish`, `ask_user`, a budget, or
 * cancellation. A step is one valid tool call; malformed calls are not steps (they are bounded by
 * `maxMalformed`). Budgets are checked before each model call and before each tool call, so a reply
 * that crossed the cost or time limit runs nothing but `finish` or `ask_user` and the run then stops.
 * Before each call the prompt is counted against the model's context window and compacted near it.
 * Each reply is handed to the caller before its tool calls run, with the work tree it applies to, so
 * that a retried attempt continues from it instead of asking the model again.
 */
export function createAgent(deps: AgentDeps): { run(input: AgentRunInput): Promise<AgentResult> } {
  const maxMalformed = deps.limits?.maxMalformed ?? 3;
  const toolCapMs = deps.limits?.toolTimeoutMs ?? 10 * 60_000;
  const fallback =
    typeof deps.model === 'string' ? modelByName(deps.model, deps.pricing?.[deps.model]) : deps.model;

  async function run(input: AgentRunInput): Promise<AgentResult> {
    const messages = await openTranscript(input);
    const log = input.log ?? deps.log;
    const model = input.model ?? fallback;
    const compact = deps.compact ?? true;
    const s = createSession({
      input,
      messages,
      log,
      model,
      toolCapMs: input.maxCommandMs ?? toolCapMs,
      compact,
    });
    log.info(
      { resumed: input.transcript.length > 0, steps: s.steps, model: model.name },
      'agent run started',
    );
    const ended = await runStoredCalls(s);
    if (ended) return ended;
    for (;;) {
      const result = await runTurn(s);
      if (result) return result;
    }
  }

  /**
   * A retried or interrupted attempt resumes at a stored reply whose tool calls may not have run (or
   * not all of them): they run now, before the model is asked anything. A reply that called `finish`
   * ends the run here, without a model call.
   */
  async function runStoredCalls(s: AgentSession): Promise<AgentResult | undefined> {
    const { input } = s;
    if (input.transcript.length === 0 || input.answer !== undefined || input.followUp !== undefined) return;
    const calls = pendingToolCalls(s.messages);
    if (calls.length === 0) return undefined;
    s.log.info({ calls: calls.length }, 'running the stored reply’s tool calls again');
    const outcome = await runToolCalls(s, calls);
    await persist(s);
    return outcome ? endRun(s, outcome) : undefined;
  }

  async function runTurn(s: AgentSession): Promise<AgentResult | undefined> {
    const { signal } = s.input;
    if (signal.aborted) return endRun(s, cancelledOutcome(signal));
    const before = sessionBudgetHit(s);
    if (before) return endRun(s, { kind: 'budget', ...before });
    await compactContext(s, deps.openai, 'limit');
    if (signal.aborted) return endRun(s, cancelledOutcome(signal));
    s.turns++;
    // While the model thinks no agent command runs: the work tree is kept meanwhile.
    const keeping = keepWork(s);
    // Whatever the model answers, keeping ends before the attempt goes on (or its clone goes).
    const reply = await ask(s, keeping).catch(async (err: unknown) => {
      await keeping;
      throw err;
    });
    if (reply.kind === 'aborted') {
      await keeping;
      if (signal.aborted) return endRun(s, cancelledOutcome(signal));
      return endRun(s, { kind: 'budget', ...(sessionBudgetHit(s) ?? timeHit(s)) });
    }
    const calls = appendReply(s, reply);
    await persist(s, { work: await keeping });
    const outcome = await runToolCalls(s, calls);
    await persist(s);
    if (outcome) return endRun(s, outcome);
    if (s.malformedInRow >= maxMalformed) {
      throw new PatchbayError(
        'model_malformed',
        `The model sent ${s.malformedInRow} malformed replies in a row.`,
        {
          hint: 'The model does not use the tools reliably; try a stronger model (PATCHBAY_MODEL, or `model=` in the request).',
        },
      );
    }
    return undefined;
  }

  /**
   * One model call; "context length exceeded" compacts (after the work tree is kept, so that the two
   * never run at once) and asks once more. A second refusal ends the task: it cannot fit.
   */
  async function ask(s: AgentSession, keeping: Promise<unknown>): Promise<Reply | { kind: 'aborted' }> {
    let reply = await callOnce(s);
    if (reply.kind !== 'overflow') return reply;
    s.log.warn({ message: reply.message }, 'context length exceeded; compacting and asking again');
    recordOverflow(s.meter, s.messages, reply);
    await keeping;
    await compactContext(s, deps.openai, 'overflow');
    reply = await callOnce(s);
    if (reply.kind !== 'overflow') return reply;
    throw new PatchbayError(
      'model_error',
      `The model endpoint refused the prompt as too long even after compacting: ${reply.message}`,
      {
        permanent: true,
        hint: `Set \`context_window\` for ${s.model.name} under \`models:\` in patchbay.yml to what the server serves, or choose a model with a larger window.`,
      },
    );
  }

  async function callOnce(s: AgentSession): Promise<ModelReply> {
    const started = Date.now();
    const share = prefixShare(s.meter, s.messages);
    // The time budget bounds the request too: a slow model cannot overrun it.
    const bounded = AbortSignal.any([s.input.signal, AbortSignal.timeout(Math.max(1, timeLeftMs(s)))]);
    const reply = await callModel(deps.openai, s.model, s.messages, bounded);
    if (reply.kind !== 'reply') return reply;
    s.tokens = addTokens(s.tokens, reply.tokens);
    recordRequest(s.meter, s.messages, reply.tokens.promptTokens);
    const ms = Date.now() - started;
    s.log.info({ turn: s.turns, ms, ...reply.tokens, toolCalls: reply.toolCalls.length }, 'model turn');
    reportActivity(s, {
      type: 'model_turn',
      turn: s.turns,
      model: s.model.name,
      text: reply.content?.trim() ? reply.content : undefined,
      toolCalls: reply.toolCalls.length,
      ...reply.tokens,
      usd: priceTokens(reply.tokens, s.model.price),
      durationMs: ms,
      prefixShare: share,
    });
    return reply;
  }

  return { run };
}

/**
 * The messages a run starts from: a new task's, a question's transcript with the answer, the
 * conversation's last run with a follow-up, or a stored transcript as it is (a retried attempt).
 */
async function openTranscript(input: AgentRunInput): Promise<ChatMessage[]> {
  if (input.transcript.length > 0) {
    if (input.answer === undefined && input.followUp === undefined) return [...input.transcript];
    const { answer, followUp, context } = input;
    return resumeTranscript(input.transcript, {
      answer,
      followUp,
      context: followUp ? context : undefined,
      allowedDomains: input.allowedDomains,
    });
  }
  const agentsMd = await readAgentsMd(input.workdir);
  const task = {
    instruction: input.instruction,
    context: input.context,
    repo: input.repo,
    branch: input.branch,
    agentsMd,
    allowedDomains: input.allowedDomains,
  };
  return startTranscript(task, input.followUp);
}

/** The time limit message when the request was cut at the deadline by a hair before the clock shows it. */
function timeHit(s: AgentSession) {
  const ms = sessionUsage(s).agentMs;
  return {
    limit: 'time' as const,
    message: `Stopped after ${formatMs(ms)} of agent time: the time budget is ${formatMs(s.input.budget.ms)}.`,
  };
}
