import { PatchbayError } from '../domain/errors.js';
import type { AgentSession } from './agent-session.js';
import { sessionBudgetHit, sessionUsage, timeLeftMs } from './agent-session.js';
import { NUDGE_USE_TOOLS } from './build-prompt.js';
import type { ModelReply, ModelToolCall } from './call-model.js';
import { ALL_TOOLS, findTool } from './tools/all-tools.js';
import type { ParsedCall, ToolContext, ToolEffect } from './tools/define-tool.js';
import type { AgentOutcome } from './types.js';

type Reply = Extract<ModelReply, { kind: 'reply' }>;
type ValidCall = Extract<ParsedCall, { ok: true }>;

/** Tools that end the run: they still run when a budget is reached, so the work done is not lost. */
const ENDS_RUN: ReadonlySet<string> = new Set(['finish', 'ask_user']);

/**
 * Appends the model's reply to the transcript and runs its tool calls in order, answering each one
 * (a malformed call gets an error the model can correct). Returns the outcome when a call ends the
 * run. Budgets are checked before each call, so a reply that itself crossed the cost or time limit
 * runs nothing but `finish` or `ask_user`.
 */
export async function runToolCalls(s: AgentSession, reply: Reply): Promise<AgentOutcome | undefined> {
  if (reply.toolCalls.length === 0) return nudge(s, reply);
  s.messages.push({
    role: 'assistant',
    content: reply.content,
    tool_calls: reply.toolCalls.map((c) => ({
      id: c.id,
      type: 'function',
      function: { name: c.name, arguments: c.arguments },
    })),
  });
  let outcome: AgentOutcome | undefined;
  let valid = 0;
  for (const call of reply.toolCalls) {
    if (outcome) {
      answer(s, call.id, 'Not run: an earlier call in this turn ended the run.');
      continue;
    }
    const parsed = parseCall(call);
    if (!parsed.ok) {
      s.log.warn({ turn: s.turns }, 'malformed tool call');
      answer(s, call.id, parsed.error);
      continue;
    }
    valid++;
    outcome = await runCall(s, call, parsed);
  }
  s.malformedInRow = valid === 0 ? s.malformedInRow + 1 : 0;
  return outcome;
}

/** A reply without a tool call: its text stays in the transcript, a reminder follows. */
function nudge(s: AgentSession, reply: Reply): undefined {
  if (reply.content?.trim()) s.messages.push({ role: 'assistant', content: reply.content });
  s.messages.push({ role: 'user', content: NUDGE_USE_TOOLS });
  s.malformedInRow++;
  s.log.warn({ turn: s.turns, finishReason: reply.finishReason }, 'model replied without a tool call');
  return undefined;
}

export function parseCall(call: ModelToolCall): ParsedCall {
  const tool = findTool(call.name);
  if (!tool) {
    const names = ALL_TOOLS.map((t) => t.name).join(', ');
    return {
      ok: false,
      error: `There is no tool named "${call.name.slice(0, 60)}". The tools are: ${names}.`,
    };
  }
  let args: unknown;
  try {
    args = call.arguments.trim() === '' ? {} : JSON.parse(call.arguments);
  } catch {
    return {
      ok: false,
      error: `The arguments for ${tool.name} are not valid JSON. Send one JSON object matching its parameters.`,
    };
  }
  return tool.parse(args);
}

async function runCall(s: AgentSession, call: ModelToolCall, parsed: ValidCall) {
  const { signal } = s.input;
  if (signal.aborted) {
    answer(s, call.id, 'Not run: the run was cancelled.');
    return cancelledOutcome(signal);
  }
  const hit = ENDS_RUN.has(call.name) ? undefined : sessionBudgetHit(s);
  if (hit) {
    answer(s, call.id, `Not run: ${hit.message}`);
    return undefined;
  }
  const started = Date.now();
  const effect = await runSafely(s, call.name, parsed);
  s.steps++;
  s.log.info({ step: s.steps, tool: call.name, ms: Date.now() - started }, 'tool call done');
  await reportStep(s, call.name, parsed.detail);
  return applyEffect(s, call, effect);
}

function applyEffect(s: AgentSession, call: ModelToolCall, effect: ToolEffect): AgentOutcome | undefined {
  if (effect.kind === 'ask') return { kind: 'question', question: effect.question };
  if (effect.kind === 'finish') {
    answer(s, call.id, 'Finished. The host commits your changes and opens or updates the pull request.');
    return { kind: 'finished', title: effect.title, summary: effect.summary };
  }
  answer(s, call.id, effect.text);
  return s.input.signal.aborted ? cancelledOutcome(s.input.signal) : undefined;
}

async function runSafely(s: AgentSession, tool: string, parsed: ValidCall): Promise<ToolEffect> {
  const ctx: ToolContext = {
    workdir: s.input.workdir,
    sandbox: s.input.sandbox,
    readOnlyPaths: s.input.readOnlyPaths,
    signal: s.input.signal,
    maxCommandMs: Math.max(1_000, Math.min(s.toolCapMs, timeLeftMs(s))),
  };
  try {
    return await parsed.run(ctx);
  } catch (err) {
    // A coded error (the sandbox cannot start, say) ends the run; anything else is the tool's bug,
    // told to the model without details that could carry host paths.
    if (err instanceof PatchbayError) throw err;
    s.log.error({ tool, error: err instanceof Error ? err.name : typeof err }, 'tool failed unexpectedly');
    return { kind: 'result', text: `The ${tool} tool failed unexpectedly; try another way.` };
  }
}

/** A failure to report progress never fails the task. */
async function reportStep(s: AgentSession, tool: string, detail: string): Promise<void> {
  const usage = sessionUsage(s);
  try {
    await s.input.onStep({ step: s.steps, tool, detail, usage, elapsedMs: usage.agentMs });
  } catch (err) {
    s.log.warn({ step: s.steps, error: err instanceof Error ? err.name : typeof err }, 'step report failed');
  }
}

function answer(s: AgentSession, id: string, content: string): void {
  s.messages.push({ role: 'tool', tool_call_id: id, content });
}

export function cancelledOutcome(signal: AbortSignal): AgentOutcome {
  const reason =
    typeof signal.reason === 'string' && signal.reason ? signal.reason : 'The run was cancelled.';
  return { kind: 'cancelled', reason };
}
