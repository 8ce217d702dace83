/**
 * What context management costs and saves, on a fixed, scripted 60-step trajectory with realistic
 * tool outputs (source files of 3–12 KB, test runs of 15 KB cut to their head and tail by the bash
 * tool, greps, edits), through the real agent loop, sandbox and OpenAI SDK against the scripted
 * model, which counts each prompt (3.5 characters a token) and what it shares with the request before.
 *
 * For a 32k and a 128k window, with compaction on and off, it prints: the prompt tokens sent in all,
 * the share of each request that is an unchanged prefix of the previous one (what a prompt cache can
 * serve; measured on the request bodies, and as the loop itself reports it), the largest request,
 * and the compactions. With compaction off nothing stops a request from passing the window: the
 * stand-in here does not refuse it, so the figure shows by how much.
 *
 * Run with `npx tsx bench/context.ts`.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { createAgent } from '../src/agent/create-agent.js';
import type { AgentActivity } from '../src/agent/types.js';
import {
  countPromptTokens,
  type ScriptedRequest,
  type ScriptedTurn,
  startScriptedModel,
} from '../src/demo/scripted-model.js';
import { emptyUsage } from '../src/domain/task.js';
import { createSilentLogger } from '../src/lib/logger.js';
import { createSandbox } from '../src/sandbox/create-sandbox.js';
import { probeSandbox } from '../src/sandbox/probe-sandbox.js';

const STEPS = 60;
const FILES = 24;
const log = createSilentLogger();

/** A TypeScript module of `lines` lines, each unique (edits need one exact match). */
function moduleText(f: number, lines: number): string {
  const out = [`import { process, type Request, type Response } from '../runtime/index.js';`, ''];
  for (let i = 0; out.length < lines; i++) {
    out.push(`/** Handles case ${i} of module ${f}: validates the input, then delegates to the runtime. */`);
    out.push(`export function handle${f}x${i}(input: Request): Response {`);
    out.push(`  if (!input.headers.has('x-case-${f}-${i}')) return { status: 400, body: 'missing header' };`);
    out.push(`  return process(input, { module: ${f}, case: ${i}, retries: ${i % 4} });`);
    out.push('}');
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

/** A test run's output: 320 lines, a few failures in the middle, a summary at the end. */
function testLog(run: number): string {
  const lines: string[] = [`> web@1.0.0 test`, `> vitest run`, '', ` RUN  v4.1.0 /workspace`, ''];
  for (let i = 0; i < 300; i++) {
    const failed = i % 97 === run % 97;
    lines.push(
      `${failed ? ' ×' : ' ✓'} tests/module${i % FILES}.test.ts > handle${i % FILES}x${i} answers case ${i} (${(i * 7) % 50}ms)`,
    );
    if (failed) lines.push(`   AssertionError: expected 400 to be 200 // Object.is equality (run ${run})`);
  }
  lines.push(
    '',
    ` Test Files  ${FILES} passed | 1 failed`,
    `      Tests  297 passed | 3 failed`,
    `   Duration  4.21s`,
  );
  return `${lines.join('\n')}\n`;
}

async function writeRepository(dir: string): Promise<void> {
  await mkdir(join(dir, 'src'), { recursive: true });
  await mkdir(join(dir, 'logs'));
  for (let f = 0; f < FILES; f++)
    await writeFile(join(dir, 'src', `module${f}.ts`), moduleText(f, 80 + ((f * 37) % 170)));
  for (let r = 0; r < 12; r++) await writeFile(join(dir, 'logs', `test-${r}.txt`), testLog(r));
}

/** The trajectory: explore, then rounds of read → edit → test, then finish. Fixed, step by step. */
function stepAt(step: number): ScriptedTurn {
  if (step >= STEPS) return { tool: 'finish', args: { title: 'Require the case header', summary: 'Done.' } };
  const f = (step * 5) % FILES;
  if (step < 3)
    return { tool: 'bash', args: { command: `ls -la src logs; wc -l src/*.ts | tail -n 5`, timeout_s: 30 } };
  if (step < 12)
    return { tool: 'read_file', args: { path: `src/module${f}.ts`, start_line: null, end_line: null } };
  switch (step % 4) {
    case 0:
      return {
        tool: 'bash',
        args: { command: `grep -rn "retries: ${step % 4}" src | head -n 40`, timeout_s: 30 },
      };
    case 1:
      return { tool: 'read_file', args: { path: `src/module${f}.ts`, start_line: 1, end_line: 120 } };
    case 2:
      return {
        tool: 'edit_file',
        args: {
          path: `src/module${f}.ts`,
          old_text: `export function handle${f}x${step % 7}(input: Request): Response {`,
          new_text: `export function handle${f}x${step % 7}(input: Request): Response {\n  input.headers.set('x-seen', '1');`,
        },
      };
    default:
      return { tool: 'bash', args: { command: `cat logs/test-${step % 12}.txt`, timeout_s: 30 } };
  }
}

const SUMMARY = `Task: require the case header in every handler and keep the test suite green.\n${'Done: edited handlers in several modules, each now marks the request as seen. Learned: handlers delegate to process(); tests live in tests/moduleN.test.ts and log to logs/. Left: the remaining modules, then a full test run. '.repeat(6)}`;

function script() {
  let step = 0;
  return (req: ScriptedRequest): ScriptedTurn =>
    req.toolChoice === 'none' ? { content: SUMMARY } : stepAt(step++);
}

interface Figures {
  requests: number;
  promptTokens: number;
  meanShareBodies: number;
  meanShareLoop: number;
  largest: number;
  compactions: number;
  summaries: number;
}

function commonPrefix(a: string, b: string): number {
  const max = Math.min(a.length, b.length);
  let i = 0;
  while (i < max && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

async function measure(
  window: number,
  compact: boolean,
  dir: string,
  sandbox: ReturnType<typeof createSandbox>,
) {
  const model = await startScriptedModel(script(), { usage: 'counted' });
  const activities: AgentActivity[] = [];
  try {
    const agent = createAgent({
      openai: new OpenAI({ apiKey: 'bench', baseURL: model.url, maxRetries: 0 }),
      model: { name: `bench-${window / 1024}k`, contextWindow: window },
      log,
      compact,
    });
    const result = await agent.run({
      workdir: dir,
      sandbox,
      readOnlyPaths: [],
      instruction:
        'Every handler must require its x-case header and mark the request as seen; keep the tests green.',
      repo: 'acme/web',
      branch: 'patchbay/bench-context',
      transcript: [],
      budget: { steps: STEPS + 10, ms: 30 * 60_000, usd: null },
      usedBefore: { steps: 0, usage: emptyUsage() },
      signal: new AbortController().signal,
      onStep: () => undefined,
      onActivity: (a) => activities.push(a),
      onMessages: async () => undefined,
      onCompacted: async () => undefined,
    });
    if (result.outcome.kind !== 'finished') throw new Error(`the run ended ${result.outcome.kind}`);
    const bodies = model.requests.map((r) => r.body as { tools: unknown; messages: unknown });
    const texts = bodies.map((b) => JSON.stringify({ tools: b.tools, messages: b.messages }));
    const shares = texts.slice(1).map((text, i) => commonPrefix(text, texts[i] ?? '') / text.length);
    const loopShares = activities.flatMap((a) =>
      a.type === 'model_turn' && a.prefixShare !== undefined ? [a.prefixShare] : [],
    );
    const sizes = bodies.map(countPromptTokens);
    return {
      requests: bodies.length,
      promptTokens: sizes.reduce((a, b) => a + b, 0),
      meanShareBodies: shares.reduce((a, b) => a + b, 0) / shares.length,
      meanShareLoop: loopShares.reduce((a, b) => a + b, 0) / loopShares.length,
      largest: Math.max(...sizes),
      compactions: result.compactions,
      summaries: activities.filter((a) => a.type === 'compaction' && a.kind === 'summary').length,
    } satisfies Figures;
  } finally {
    await model.close();
  }
}

async function main(): Promise<void> {
  const probe = await probeSandbox({ mode: process.env.PATCHBAY_SANDBOX === 'none' ? 'none' : 'bwrap' });
  const sandbox = createSandbox({ mode: probe.mode, log });
  console.log(`Context management on a scripted ${STEPS}-step trajectory (sandbox: ${probe.description})\n`);
  console.log(
    '| window | compaction | requests | prompt tokens sent | unchanged prefix, mean (bodies / loop) | largest request | compactions (summaries) |',
  );
  console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const window of [32_768, 131_072]) {
    for (const compact of [true, false]) {
      const dir = await mkdtemp(join(tmpdir(), 'patchbay-bench-context-'));
      try {
        await writeRepository(dir);
        const f = await measure(window, compact, dir, sandbox);
        const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
        const over = f.largest > window ? ' (over the window)' : '';
        console.log(
          `| ${window / 1024}k | ${compact ? 'on' : 'off'} | ${f.requests} | ${f.promptTokens.toLocaleString('en-US')} | ${pct(f.meanShareBodies)} / ${pct(f.meanShareLoop)} | ${f.largest.toLocaleString('en-US')}${over} | ${f.compactions} (${f.summaries}) |`,
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  }
}

await main();
