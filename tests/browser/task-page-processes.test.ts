import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { ScriptedTurn } from '../../src/demo/scripted-model.js';
import { openBrowser, type TestBrowser } from '../fakes/chromium.js';
import { freePort } from '../fakes/free-port.js';
import { type Harness, isFinal, startHarness } from '../fakes/harness.js';
import { FIX_GREETING } from '../fakes/scripts.js';
import { exited, spawnWorker } from '../fakes/worker-process.js';

/** A value Patchbay knows as a secret (its model key), with no token shape a pattern would catch. */
const SECRET = 'plain-model-key-that-only-config-knows-7731';

let h: Harness | undefined;
let worker: ChildProcess | undefined;
let browser: TestBrowser | undefined;
afterEach(async () => {
  await browser?.close();
  worker?.kill('SIGKILL');
  if (worker) await exited(worker);
  await h?.close();
  h = browser = worker = undefined;
});

/** A turn the model sends only once the test lets it. */
function gate(): { release: () => void; until: Promise<void> } {
  let release: () => void = () => undefined;
  const until = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { release, until };
}

describe('the task page of a task another process runs', () => {
  it('shows what the worker does as it happens, catches up after the server restarts, and never shows a secret', async () => {
    const held = gate();
    const script: ScriptedTurn[] = [
      { tool: 'bash', args: { command: `echo model key: ${SECRET}` } },
      { ...(FIX_GREETING[0] as ScriptedTurn), until: held.until },
      ...FIX_GREETING.slice(1),
    ];
    const port = await freePort();
    h = await startHarness({ script, worker: false, env: { PORT: String(port), OPENAI_API_KEY: SECRET } });
    worker = spawnWorker(h.workerProcessEnv);
    browser = await openBrowser();
    const { page, problems } = await browser.newPage();
    const created = await h.createTask({ instruction: 'fix the greeting' });
    const id = created.body.id;

    await page.goto(`${h.base}/tasks/${id}`);
    await page.fill('input[name="token"]', h.secrets.apiToken);
    await Promise.all([page.waitForURL(`**/tasks/${id}`), page.click('button[type="submit"]')]);
    await page.locator('#timeline .entry-tool', { hasText: 'echo model key' }).waitFor();
    const beforeRestart = await page.locator('#timeline > li').count();
    await h.restartServer();
    held.release();
    const done = await h.waitFor(id, isFinal);
    await page.locator('#live[data-state="done"]').waitFor({ state: 'attached' });
    await page.locator('#timeline .entry-tool', { hasText: 'finish' }).waitFor();
    const ids = await page.$$eval('#timeline > li', (items) =>
      items.map((li) => li.getAttribute('data-entry-id')),
    );
    const stream = await fetch(`${h.base}/api/tasks/${id}/events`, {
      headers: { authorization: `Bearer ${h.secrets.apiToken}` },
    });

    expect(done.status).toBe('succeeded');
    expect(ids.length).toBeGreaterThan(beforeRestart);
    expect(new Set(ids).size).toBe(ids.length);
    expect(await page.locator('#task-status').textContent()).toBe('Succeeded');
    expect(await page.content()).not.toContain(SECRET);
    expect(await page.locator('#timeline').textContent()).toContain('[redacted]');
    expect(await stream.text()).not.toContain(SECRET);
    // While the server is down the stream's reconnect is refused: the one complaint a restart may bring.
    expect(problems.filter((p) => !p.includes('ERR_CONNECTION_REFUSED'))).toEqual([]);
  });
});
