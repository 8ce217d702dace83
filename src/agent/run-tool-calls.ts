import { PatchbayError } from '../domain/errors.js';
import type { AgentSession } from './agent-session.js';
import { reportActivity, sessionBudgetHit, sessionUsage, timeLeftMs } from './agent-session.js';
import { NUDGE_USE_TOOLS } from './build-prompt.js';
import type { ModelReply, ModelToolCall } from './call-model.js';
import { ALL_TOOLS, findTool } from './tools/all-tools.js';
import type { ParsedCall, ToolContext, ToolEffect } from './tools/define-tool.js';
import type { AgentOutcome } from './types.js';

type Reply = Extract<ModelReply, { kind: 'reply' }>;
type ValidCall = Extract<ParsedCall, { ok: true }>;

/** Tools that end the run: they still run when a budget is reached, so the work done is not lost. */
const ENDS_RUN: ReadonlySet<string> = new Set(['finish', 'ask_user']);

/** The arguments kept in the timeline: enough to read a command or an edit, not a whole file written. */
const ARGS_CAP = 4_096;

/** Tool calls one reply may make; the rest are answered without running, and the model sends them again. */
export const MAX_CALLS_PER_REPLY = 16;

/**
 * Appends the model's reply to the transcript: with its tool calls (run next, by runToolCalls), or,
 * when it has none, its text and a reminder to use the tools. Returns the calls to run.
 */
export function appendReply(s: AgentSession, reply: Reply): ModelToolCall[] {
  if (reply.toolCalls.length === 0) {
    nudge(s, reply);
    return [];
  }
  s.messages.push({
    role: 'assistant',
    content: reply.content,
    tool_calls: reply.toolCalls.map((c) => ({
      id: c.id,
      type: 'function',
      function: { name: c.name, arguments: c.arguments },
    })),
  });
  return reply.toolCalls;
}

/**
 * Runs a reply's tool calls in order, answering each one (a malformed call gets an error the model
 * can correct; calls past MAX_CALLS_PER_REPLY are answered without running). Returns the outcome when
 * a call ends the run. Budgets are checked before each call, so a reply that itself crossed the cost
 * or time limit runs nothing but `finish` or `ask_user`. A reply without calls counts as malformed.
 */
export async function runToolCalls(
  s: AgentSession,
  calls: ModelToolCall[],
): Promise<AgentOutcome | undefined> {
  if (calls.length === 0) return undefined;
  let outcome: AgentOutcome | undefined;
  let valid = 0;
  for (const [i, call] of calls.entries()) {
    if (outcome) {
      const text = answer(s, call.id, 'Not run: an earlier call in this turn ended the run.');
      reportCall(s, call, { detail: `${toolName(call)}: not run`, output: text, failed: false, ms: 0 });
      continue;
    }
    if (i >= MAX_CALLS_PER_REPLY) {
      const text = answer(
        s,
        call.id,
        `Not run: a reply may make at most ${MAX_CALLS_PER_REPLY} tool calls. Send this one again in your next reply if you still need it.`,
      );
      reportCall(s, call, { detail: `${toolName(call)}: not run`, output: text, failed: false, ms: 0 });
      continue;
    }
    const parsed = parseCall(call);
    if (!parsed.ok) {
      s.log.warn({ turn: s.turns }, 'malformed tool call');
      const text = answer(s, call.id, parsed.error);
      reportCall(s, call, { detail: `${toolName(call)}: malformed call`, output: text, failed: true, ms: 0 });
      continue;
    }
    valid++;
    outcome = await runCall(s, call, parsed);
  }
  s.malformedInRow = valid === 0 ? s.malformedInRow + 1 : 0;
  return outcome;
}

/** A reply without a tool call: its text stays in the transcript, a reminder follows. */
function nudge(s: AgentSession, reply: Reply): void {
  if (reply.content?.trim()) s.messages.push({ role: 'assistant', content: reply.content });
  s.messages.push({ role: 'user', content: NUDGE_USE_TOOLS });
  s.malformedInRow++;
  s.log.warn({ turn: s.turns, finishReason: reply.finishReason }, 'model replied without a tool call');
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
  const notRun = (text: string) => {
    const output = answer(s, call.id, text);
    reportCall(s, call, { detail: parsed.detail, output, failed: false, ms: 0 });
  };
  if (signal.aborted) {
    notRun('Not run: the run was cancelled.');
    return cancelledOutcome(signal);
  }
  const hit = ENDS_RUN.has(call.name) ? undefined : sessionBudgetHit(s);
  if (hit) {
    notRun(`Not run: ${hit.message}`);
    return undefined;
  }
  const started = Date.now();
  const effect = await runSafely(s, call.name, parsed);
  s.steps++;
  const ms = Date.now() - started;
  s.log.info({ step: s.steps, tool: call.name, ms }, 'tool call done');
  const { outcome, output } = applyEffect(s, call, effect);
  const failed = effect.kind === 'result' && effect.failed === true;
  reportCall(s, call, { detail: parsed.detail, output, failed, ms });
  await reportStep(s, call.name, parsed.detail);
  return outcome;
}

/** The call's result for the model (none yet for `ask_user`: the answer comes back later) and the outcome. */
function applyEffect(
  s: AgentSession,
  call: ModelToolCall,
  effect: ToolEffect,
): { outcome: AgentOutcome | undefined; output: string } {
  if (effect.kind === 'ask') return { outcome: { kind: 'question', question: effect.question }, output: '' };
  if (effect.kind === 'finish') {
    const output = answer(
      s,
      call.id,
      'Finished. The host commits your changes and opens or updates the pull request.',
    );
    return { outcome: { kind: 'finished', title: effect.title, summary: effect.summary }, output };
  }
  const output = answer(s, call.id, effect.text);
  return { outcome: s.input.signal.aborted ? cancelledOutcome(s.input.signal) : undefined, output };
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
    return { kind: 'result', text: `The ${tool} tool failed unexpectedly; try another way.`, failed: true };
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

/** Answers a tool call in the transcript; returns the text exactly as the model will get it. */
function answer(s: AgentSession, id: string, content: string): string {
  s.messages.push({ role: 'tool', tool_call_id: id, content });
  return content;
}

/** The tool's name as the model sent it, cut short: a malformed call may name anything. */
const toolName = (call: ModelToolCall) => call.name.slice(0, 60);

function reportCall(
  s: AgentSession,
  call: ModelToolCall,
  done: { detail: string; output: string; failed: boolean; ms: number },
): void {
  const args =
    call.arguments.length > ARGS_CAP
      ? `${call.arguments.slice(0, ARGS_CAP)}… [${call.arguments.length - ARGS_CAP} more characters]`
      : call.arguments;
  reportActivity(s, {
    type: 'tool_call',
    step: s.steps,
    tool: toolName(call),
    args,
    detail: done.detail,
    output: done.output,
    outputBytes: Buffer.byteLength(done.output),
    failed: done.failed,
    durationMs: done.ms,
  });
}

export function cancelledOutcome(signal: AbortSignal): AgentOutcome {
  const reason =
    typeof signal.reason === 'string' && signal.reason ? signal.reason : 'The run was cancelled.';
  return { kind: 'cancelled', reason };
}
