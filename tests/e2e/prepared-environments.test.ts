import { describe, expect, it } from 'vitest';
import type { ScriptedTurn } from '../../src/demo/scripted-model.js';
import type { TimelineEntry } from '../../src/domain/timeline.js';
import { type Harness, isFinal, REPO } from '../fakes/harness.js';
import { harnessPerTest } from '../fakes/harness-per-test.js';

const start = harnessPerTest();
const TOKEN = 'npm_e2esetuponlytoken9876';

/** Setup leaves a marker (excluded from commits, as node_modules would be) saying it ran and saw the token. */
const SETUP = [
  'echo .setup-runs >> .git/info/exclude',
  'echo "setup ran" >> .setup-runs',
  `test "$NPM_TOKEN" = ${TOKEN} && echo "setup saw the token" >> .setup-runs`,
].join(' && ');

/** Each task: the agent reads what setup left and looks for the token, writes a file, finishes. */
function agentTurn(n: number): ScriptedTurn {
  const task = Math.floor(n / 3);
  if (n % 3 === 0)
    return {
      tool: 'bash',
      args: { command: 'cat .setup-runs; echo "agent sees token=${NPM_TOKEN:-absent}"' },
    };
  if (n % 3 === 1)
    return { tool: 'write_file', args: { path: `notes/${task}.md`, content: `note ${task}\n` } };
  return { tool: 'finish', args: { title: `Note ${task}`, summary: `Added note ${task}.` } };
}

async function timelineOf(h: Harness, id: string): Promise<TimelineEntry[]> {
  for (;;) {
    const { body } = await h.get(`/api/tasks/${id}/events?limit=1000`);
    const entries = (body.events as Array<{ entry: TimelineEntry }>).map((e) => e.entry);
    if (entries.some((e) => e.type === 'outcome' && e.status === 'succeeded')) return entries;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves once the worker logged that a prepared pool entry is ready (the event that proves it). */
async function preparedEntryReady(h: Harness, after: number): Promise<void> {
  while (
    !h.logLines.slice(after).some((l) => l.includes('"prepared":true') && l.includes('pool entry ready'))
  ) {
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('prepared environments through the API', () => {
  it('runs setup once; the next task starts on a prepared entry, and the PR footer shows where the time went', async () => {
    let turn = 0;
    const h = await start(() => agentTurn(turn++), {
      file: {
        repositories: [
          { name: REPO, setup: [SETUP], setup_env: ['NPM_TOKEN'], pool_size: 1, check: ['node test.js'] },
        ],
      },
      env: { NPM_TOKEN: TOKEN },
    });

    const first = await h.createTask({ instruction: 'add note 0', conversation: 'n0' });
    await h.waitFor(first.body.id, isFinal);
    const firstTimeline = await timelineOf(h, first.body.id);
    await preparedEntryReady(h, 0);
    const second = await h.createTask({ instruction: 'add note 1', conversation: 'n1' });
    const done = await h.waitFor(second.body.id, isFinal);
    const secondTimeline = await timelineOf(h, second.body.id);

    expect(done.status).toBe('succeeded');
    expect(firstTimeline.find((e) => e.type === 'environment')).toMatchObject({ setup: 'full', commands: 1 });
    expect(secondTimeline.find((e) => e.type === 'environment')).toMatchObject({
      setup: 'prepared',
      commands: 0,
    });
    const agentSaw = secondTimeline.find((e) => e.type === 'tool_call' && e.tool === 'bash');
    expect(agentSaw).toMatchObject({
      output: expect.stringContaining('setup ran\nsetup saw the token\nagent sees token=absent'),
    });
    const body = h.github.pulls.find((pr) => pr.title === 'Note 1')?.body ?? '';
    expect(body).toMatch(
      /<br>clone [\d.]+m?s · setup \(prepared\) [\d.]+m?s · agent [\d.]+m?s · checks [\d.]+m?s<\/sub>/,
    );
    expect(JSON.stringify(h.github.pulls)).not.toContain(TOKEN);
    expect(h.logLines.join('')).not.toContain(TOKEN);
    expect(await h.git.readFile(REPO, done.branch ?? '', '.setup-runs')).toBeNull();
  });
});
