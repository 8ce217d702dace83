import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SUMMARY_REQUEST } from '../../src/agent/compact-transcript.js';
import { createAgent } from '../../src/agent/create-agent.js';
import type { AgentActivity, AgentRunInput, ChatMessage, TurnRecord } from '../../src/agent/types.js';
import {
  countPromptTokens,
  type Script,
  type ScriptedModel,
  type ScriptedModelOptions,
  type ScriptedRequest,
  type ScriptedTurn,
  startScriptedModel,
} from '../../src/demo/scripted-model.js';
import { PatchbayError } from '../../src/domain/errors.js';
import type { ModelSpec } from '../../src/domain/model-spec.js';
import { emptyUsage } from '../../src/domain/task.js';
import { createSilentLogger } from '../../src/lib/logger.js';
import { createSandbox } from '../../src/sandbox/create-sandbox.js';

const log = createSilentLogger();
const sandbox = createSandbox({ mode: 'bwrap', log });
let base: string;
let workdir: string;
let model: ScriptedModel | undefined;

/** Forty source files of about 3.5 KB each: what a real agent reads on its way through a repository. */
async function writeRepository(dir: string): Promise<void> {
  await mkdir(path.join(dir, 'src'), { recursive: true });
  for (let f = 0; f < 40; f++) {
    const lines = Array.from(
      { length: 80 },
      (_, i) => `export const value${f}_${i} = compute(${i}, 'module ${f}') + offset; // line ${i}`,
    );
    await writeFile(path.join(dir, 'src', `module${f}.ts`), `${lines.join('\n')}\n`);
  }
}

beforeEach(async () => {
  base = await realpath(await mkdtemp(path.join(tmpdir(), 'patchbay-context-')));
  workdir = path.join(base, 'repo');
  await writeRepository(workdir);
});

afterEach(async () => {
  expect(model?.unmatched ?? []).toEqual([]);
  await model?.close();
  model = undefined;
  await rm(base, { recursive: true, force: true });
});

async function startModel(script: Script, opts: ScriptedModelOptions = {}): Promise<ScriptedModel> {
  model = await startScriptedModel(script, { usage: 'counted', ...opts });
  return model;
}

function agentFor(m: ScriptedModel, spec: ModelSpec) {
  const openai = new OpenAI({ apiKey: 'test-key', baseURL: m.url, maxRetries: 0 });
  return createAgent({ openai, model: spec, log });
}

const SMALL: ModelSpec = { name: 'small-model', contextWindow: 16_384, maxOutputTokens: 2_048 };

type Stored = { messages: ChatMessage[]; turns: Array<{ at: number; turn: TurnRecord }> };

function input(overrides: Partial<AgentRunInput> = {}): AgentRunInput & {
  stored: Stored;
  activities: AgentActivity[];
} {
  const stored: Stored = { messages: [], turns: [] };
  const activities: AgentActivity[] = [];
  return {
    workdir,
    sandbox,
    readOnlyPaths: [],
    instruction: 'Rename compute to calculate everywhere',
    repo: 'acme/web',
    branch: 'patchbay/abc123-rename',
    transcript: [],
    budget: { steps: 250, ms: 10 * 60_000, usd: null },
    usedBefore: { steps: 0, usage: emptyUsage() },
    signal: new AbortController().signal,
    onStep: () => undefined,
    onMessages: async (added, turn) => {
      stored.messages.push(...added);
      if (turn) stored.turns.push({ at: stored.messages.length, turn });
    },
    onCompacted: async (messages) => {
      stored.messages = [...messages];
    },
    onActivity: (activity) => {
      activities.push(activity);
    },
    stored,
    activities,
    ...overrides,
  };
}

const finish: ScriptedTurn = { tool: 'finish', args: { title: 'Rename compute', summary: 'Renamed it.' } };
const SUMMARY = 'Task: rename compute. Done: read modules. Learned: compute is in every module. Left: edit.';

/** Reads the modules one after the other (a bash `wc` every tenth step), then finishes; writes a summary when asked. */
function readingScript(steps: number) {
  let step = 0;
  return (req: ScriptedRequest): ScriptedTurn => {
    if (req.toolChoice === 'none') return { content: SUMMARY };
    step++;
    if (step > steps) return finish;
    if (step % 10 === 0)
      return { tool: 'bash', args: { command: 'wc -l src/*.ts | tail -n 3', timeout_s: 30 } };
    return {
      tool: 'read_file',
      args: { path: `src/module${step % 40}.ts`, start_line: null, end_line: null },
    };
  };
}

type Body = {
  messages: ChatMessage[];
  tools: unknown[];
  tool_choice?: string;
  max_completion_tokens?: number;
};
const bodies = (m: ScriptedModel) => m.requests.map((r) => r.body as Body);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

describe('context management against the scripted model', () => {
  it('completes a 200-step run on a 16k window and never sends more than the window', async () => {
    const m = await startModel(readingScript(200));
    const run = input();

    const result = await agentFor(m, SMALL).run(run);

    expect(result.outcome.kind).toBe('finished');
    expect(result.steps).toBe(201);
    for (const body of bodies(m)) {
      expect(countPromptTokens(body) + (body.max_completion_tokens ?? 0)).toBeLessThanOrEqual(16_384);
      expect(body.max_completion_tokens).toBe(2_048);
    }
    expect(m.answered.size).toBe(m.requests.length);
    const compactions = run.activities.filter((a) => a.type === 'compaction');
    expect(result.compactions).toBe(compactions.length);
    expect(compactions.map((c) => c.kind)).toContain('summary');
    expect(compactions.every((c) => c.type === 'compaction' && c.tokensAfter < c.tokensBefore)).toBe(true);
    expect(run.stored.messages).toEqual(result.transcript);
    expect(bodies(m).filter((b) => b.tool_choice === 'none').length).toBeLessThan(40);
  });

  it('asks for the summary on the cached prefix, then keeps the system prompt and task byte-stable', async () => {
    const m = await startModel(readingScript(40));

    const result = await agentFor(m, SMALL).run(input());

    const all = bodies(m);
    const at = all.findIndex((b) => b.tool_choice === 'none');
    const [first, before, request, after] = [all[0], all[at - 1], all[at], all[at + 1]];
    if (!first || !before || !request || !after) throw new Error('no summary request');
    expect(result.outcome.kind).toBe('finished');
    // The summary request is the last request plus what followed it, then the question: one prefix.
    expect(same(request.messages.slice(0, before.messages.length), before.messages)).toBe(true);
    expect(same(request.messages.slice(0, 2), first.messages.slice(0, 2))).toBe(true);
    expect(same(request.tools, first.tools)).toBe(true);
    expect(request.messages.at(-1)).toEqual({ role: 'user', content: SUMMARY_REQUEST });
    // After it: the pinned head byte for byte, the summary, then the recent turns.
    expect(same(after.messages.slice(0, 2), first.messages.slice(0, 2))).toBe(true);
    expect(after.messages[2]?.role).toBe('user');
    expect(String(after.messages[2]?.content)).toContain(SUMMARY);
    expect(String(after.messages[2]?.content)).toContain('Context compacted');
    expect(after.messages[3]?.role).toBe('assistant');
    expect(after.messages.length).toBeLessThan(request.messages.length);
    // Append-only again from there: each request starts with the whole of the one before.
    const next = all[at + 2];
    if (next?.tool_choice !== 'none' && next) {
      expect(same(next.messages.slice(0, after.messages.length), after.messages)).toBe(true);
    }
  });

  it('elides older tool outputs first, keeping each call and a line of what it showed', async () => {
    const m = await startModel(readingScript(12));

    const result = await agentFor(m, SMALL).run(input());

    const elided = result.transcript.filter(
      (msg) => msg.role === 'tool' && String(msg.content).startsWith('[Output elided to save context'),
    );
    expect(elided.length).toBeGreaterThan(0);
    expect(String(elided[0]?.content)).toMatch(
      /^\[Output elided to save context: 80 lines, \d+ characters\. It began: +1 export const value\d+_0 = compute/,
    );
    const answered = new Set(
      result.transcript.flatMap((msg) => (msg.role === 'tool' ? [msg.tool_call_id] : [])),
    );
    const calls = result.transcript.flatMap((msg) =>
      msg.role === 'assistant' ? (msg.tool_calls ?? []).map((c) => c.id) : [],
    );
    expect(calls.every((id) => answered.has(id))).toBe(true);
    expect(result.transcript.slice(0, 2)).toEqual(bodies(m)[0]?.messages.slice(0, 2));
  });

  it('answers "context length exceeded" by compacting and asking once more', async () => {
    // The entry claims 64k; the server serves 12k and says so.
    const m = await startModel(readingScript(14), { contextWindow: 12_000 });
    const spec: ModelSpec = { name: 'misconfigured', contextWindow: 65_536 };
    const run = input();

    const result = await agentFor(m, spec).run(run);

    const [index = -1, ...more] = [...m.refused];
    expect(result.outcome.kind).toBe('finished');
    expect(more).toEqual([]);
    expect(m.requests.map((_, i) => i).filter((i) => !m.answered.has(i))).toEqual([index]);
    expect(countPromptTokens(m.requests[index]?.body)).toBeGreaterThan(12_000);
    const overflow = run.activities.filter((a) => a.type === 'compaction' && a.reason === 'overflow');
    expect(overflow.length).toBeGreaterThan(0);
    const retried = bodies(m)[m.requests.length - 1];
    expect(countPromptTokens(retried)).toBeLessThanOrEqual(12_000);
  });

  it('fails for good when the prompt cannot fit even after compacting', async () => {
    // The server serves 1,500 tokens: not even the system prompt, the tools and the task fit.
    const m = await startModel(readingScript(3), { contextWindow: 1_500 });

    const err = await agentFor(m, { name: 'tiny', contextWindow: 32_768 })
      .run(input())
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(PatchbayError);
    expect(err).toMatchObject({ code: 'model_error', permanent: true });
    expect((err as PatchbayError).hint).toMatch(/context_window/);
    expect(m.answered.size).toBe(0);
    expect(m.refused.size).toBeLessThanOrEqual(2);
  });

  it('sends reasoning_effort and max_completion_tokens only where the entry sets them', async () => {
    const m = await startModel([finish, finish]);
    const spec: ModelSpec = {
      name: 'thinker',
      contextWindow: 200_000,
      reasoningEffort: 'high',
      maxOutputTokens: 8_000,
    };

    await agentFor(m, spec).run(input());
    await agentFor(m, { name: 'plain', contextWindow: 32_768 }).run(input());

    expect(m.requests[0]?.body).toMatchObject({
      model: 'thinker',
      reasoning_effort: 'high',
      max_completion_tokens: 8_000,
    });
    expect(m.requests[1]?.body).toMatchObject({ model: 'plain' });
    expect(Object.keys(m.requests[1]?.body as object)).not.toContain('reasoning_effort');
    expect(Object.keys(m.requests[1]?.body as object)).not.toContain('max_completion_tokens');
  });

  it('fails for good, naming the parameter and its key, when the server rejects one', async () => {
    const m = await startModel([finish], { rejectParams: ['reasoning_effort'] });
    const spec: ModelSpec = { name: 'no-reasoning', contextWindow: 32_768, reasoningEffort: 'low' };

    const err = await agentFor(m, spec)
      .run(input())
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(PatchbayError);
    expect(err).toMatchObject({ code: 'model_error', permanent: true });
    expect((err as PatchbayError).message).toContain('reasoning_effort');
    expect((err as PatchbayError).hint).toMatch(
      /`reasoning_effort` from the entry of no-reasoning under `models:`/,
    );
    expect(m.requests).toHaveLength(1);
  });
});

describe('turns stored before their tool calls run', () => {
  it('hands over each reply with the kept work before running its calls, and measures the cached prefix', async () => {
    const m = await startModel([
      { tool: 'read_file', args: { path: 'src/module1.ts', start_line: 1, end_line: 3 } },
      { tool: 'write_file', args: { path: 'src/new.ts', content: 'export {};\n' } },
      finish,
    ]);
    let kept = 0;
    const run = input({
      keepWork: async () => {
        kept++;
        return { base: 'b'.repeat(40), sha: kept > 2 ? 'c'.repeat(40) : null };
      },
    });

    await agentFor(m, SMALL).run(run);

    expect(kept).toBe(3);
    expect(run.stored.turns.map(({ turn }) => turn.work?.sha ?? null)).toEqual([null, null, 'c'.repeat(40)]);
    for (const { at } of run.stored.turns) expect(run.stored.messages[at - 1]?.role).toBe('assistant');
    const shares = run.activities.flatMap((a) => (a.type === 'model_turn' ? [a.prefixShare] : []));
    expect(shares[0]).toBeUndefined();
    expect(shares.slice(1).every((share) => share !== undefined && share > 0.5 && share < 1)).toBe(true);
  });

  it('runs the tool calls of a stored reply first on a retry, and asks nothing when it was finish', async () => {
    const m = await startModel([]);
    const transcript: ChatMessage[] = [
      { role: 'system', content: 'system' },
      { role: 'user', content: 'task' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_a',
            type: 'function',
            function: { name: 'write_file', arguments: JSON.stringify({ path: 'DONE.md', content: 'ok\n' }) },
          },
          {
            id: 'call_b',
            type: 'function',
            function: { name: 'finish', arguments: JSON.stringify({ title: 'Done', summary: 'All done.' }) },
          },
        ],
      },
    ];
    const run = input({ transcript, usedBefore: { steps: 7, usage: emptyUsage() } });

    const result = await agentFor(m, SMALL).run(run);

    expect(result.outcome).toEqual({ kind: 'finished', title: 'Done', summary: 'All done.' });
    expect(m.requests).toHaveLength(0);
    expect(result.steps).toBe(9);
    expect(run.stored.messages.map((msg) => msg.role)).toEqual(['tool', 'tool']);
  });

  it('answers at most 16 tool calls of one reply and tells the model about the rest', async () => {
    const calls = Array.from({ length: 18 }, (_, i) => ({
      tool: 'read_file',
      args: { path: `src/module${i}.ts`, start_line: 1, end_line: 1 },
    }));
    const m = await startModel([{ calls }, finish]);

    const result = await agentFor(m, SMALL).run(input());

    const results = result.transcript.filter((msg) => msg.role === 'tool').map((msg) => String(msg.content));
    expect(results.slice(0, 16).every((text) => text.includes('export const value'))).toBe(true);
    expect(results.slice(16, 18)).toEqual([
      expect.stringMatching(/^Not run: a reply may make at most 16 tool calls/),
      expect.stringMatching(/^Not run: a reply may make at most 16 tool calls/),
    ]);
    expect(result.steps).toBe(17);
  });
});
