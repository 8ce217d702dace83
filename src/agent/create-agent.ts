import type OpenAI from 'openai';
import { PatchbayError } from '../domain/errors.js';
import type { Logger } from '../lib/logger.js';
import {
  type AgentSession,
  createSession,
  endRun,
  persist,
  reportActivity,
  sessionBudgetHit,
  sessionUsage,
  timeLeftMs,
} from './agent-session.js';
import { addTokens, formatMs, priceTokens } from './budget.js';
import { startTranscript } from './build-prompt.js';
import { callModel } from './call-model.js';
import { readAgentsMd } from './read-agents-md.js';
import { resumeTranscript } from './resume-transcript.js';
import { cancelledOutcome, runToolCalls } from './run-tool-calls.js';
import type { AgentResult, AgentRunInput, ChatMessage, Pricing } from './types.js';

export interface AgentDeps {
  /** Built by the caller with a small `maxRetries` (2): the SDK retries 5xx, 429 and connection errors. */
  openai: OpenAI;
  model: string;
  /** USD per million tokens by model name; a model without an entry has no cost limit. */
  pricing: Record<string, Pricing>;
  log: Logger;
  limits?: {
    /** The longest one bash command may run, whatever the model asks (default 10 minutes). */
    toolTimeoutMs?: number;
    /** Malformed replies in a row before the run fails with `model_malformed` (default 3). */
    maxMalformed?: number;
  };
}

/**
 * The agent loop: model turn, tool calls, repeat, until `finish`, `ask_user`, a budget, or
 * cancellation. A step is one valid tool call; malformed calls are not steps (they are bounded by
 * `maxMalformed`). Budgets are checked before each model call and before each tool call, so a reply
 * that crossed the cost or time limit runs nothing but `finish` or `ask_user` and the run then stops.
 */
export function createAgent(deps: AgentDeps): { run(input: AgentRunInput): Promise<AgentResult> } {
  const maxMalformed = deps.limits?.maxMalformed ?? 3;
  const toolCapMs = deps.limits?.toolTimeoutMs ?? 10 * 60_000;

  async function run(input: AgentRunInput): Promise<AgentResult> {
    const messages = await openTranscript(input);
    const log = input.log ?? deps.log;
    const s = createSession({
      input,
      messages,
      log,
      pricing: deps.pricing[input.model ?? deps.model],
      toolCapMs,
    });
    log.info({ resumed: input.transcript.length > 0, steps: s.steps }, 'agent run started');
    for (;;) {
      const result = await runTurn(s);
      if (result) return result;
    }
  }

  async function runTurn(s: AgentSession): Promise<AgentResult | undefined> {
    const { signal } = s.input;
    if (signal.aborted) return endRun(s, cancelledOutcome(signal));
    const before = sessionBudgetHit(s);
    if (before) return endRun(s, { kind: 'budget', ...before });
    s.turns++;
    const started = Date.now();
    // The time budget bounds the request too: a slow model cannot overrun it.
    const bounded = AbortSignal.any([signal, AbortSignal.timeout(Math.max(1, timeLeftMs(s)))]);
    const model = s.input.model ?? deps.model;
    const reply = await callModel(deps.openai, model, s.messages, bounded);
    if (reply.kind === 'aborted') {
      if (signal.aborted) return endRun(s, cancelledOutcome(signal));
      return endRun(s, { kind: 'budget', ...(sessionBudgetHit(s) ?? timeHit(s)) });
    }
    s.tokens = addTokens(s.tokens, reply.tokens);
    const ms = Date.now() - started;
    s.log.info({ turn: s.turns, ms, ...reply.tokens, toolCalls: reply.toolCalls.length }, 'model turn');
    reportActivity(s, {
      type: 'model_turn',
      turn: s.turns,
      model,
      text: reply.content?.trim() ? reply.content : undefined,
      toolCalls: reply.toolCalls.length,
      ...reply.tokens,
      usd: priceTokens(reply.tokens, s.pricing),
      durationMs: ms,
    });
    const outcome = await runToolCalls(s, reply);
    await persist(s);
    if (outcome) return endRun(s, outcome);
    if (s.malformedInRow >= maxMalformed) {
      throw new PatchbayError(
        'model_malformed',
        `The model sent ${s.malformedInRow} malformed replies in a row.`,
        {
          hint: 'The model does not use the tools reliably; try a stronger model (PATCHBAY_MODEL).',
        },
      );
    }
    return undefined;
  }

  return { run };
}

async function openTranscript(input: AgentRunInput): Promise<ChatMessage[]> {
  if (input.transcript.length > 0) {
    return resumeTranscript(input.transcript, { answer: input.answer, followUp: input.followUp });
  }
  const agentsMd = await readAgentsMd(input.workdir);
  const task = {
    instruction: input.instruction,
    context: input.context,
    repo: input.repo,
    branch: input.branch,
    agentsMd,
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
