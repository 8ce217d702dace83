import { describe, expect, it } from 'vitest';
import { childrenPerTest } from '../fakes/children-per-test.js';
import { freePort } from '../fakes/free-port.js';
import { isFinal, REPO } from '../fakes/harness.js';
import { harnessPerTest } from '../fakes/harness-per-test.js';
import { pidRuns } from '../fakes/host-processes.js';
import { FIX_GREETING } from '../fakes/scripts.js';
import { eventually } from '../fakes/slack-requests.js';
import { exited, spawnCli } from '../fakes/worker-process.js';

const start = harnessPerTest();
const children = childrenPerTest();

/**
 * `patchbay server` as a user starts it; resolves once it listens and its inbox process runs, with
 * the id of that process (from the server's start-up line).
 */
async function spawnCliServer(env: Record<string, string>) {
  const child = spawnCli('server', env);
  children.push(child);
  const up = await eventually(
    () => child.said('inbox consumer running in a process of its own')[0],
    30_000,
    'the inbox process running',
  );
  await eventually(() => child.said('server listening').length > 0, 30_000, 'server listening');
  return { child, lines: child.logged, inboxPid: Number(up.inboxPid) };
}

describe('patchbay server', () => {
  it('makes the tasks it answered for in its inbox process, which a worker runs to a pull request, and stops cleanly, that process too', async () => {
    // The harness's own server answers nothing here: it does not consume the inbox.
    const h = await start(FIX_GREETING, { worker: false, inbox: { consume: false } });
    const port = await freePort();
    const server = await spawnCliServer({ ...h.workerProcessEnv, PORT: String(port) });
    const base = `http://127.0.0.1:${port}`;

    const res = await fetch(`${base}/api/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.secrets.apiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ repo: REPO, instruction: 'fix greet' }),
    });
    const { id } = (await res.json()) as { id: string };
    const queued = await eventually(
      () => server.lines.find((l) => l.msg === 'task queued' && l.taskId === id),
      30_000,
      'the task made',
    );
    await h.startWorker();
    const done = await h.waitFor(id, isFinal);
    server.child.kill('SIGTERM');
    const code = await exited(server.child);

    expect(res.status).toBe(202);
    expect(server.inboxPid).toBeGreaterThan(0);
    expect(server.inboxPid).not.toBe(server.child.pid);
    expect(queued.process).toBe('inbox');
    expect(server.lines.find((l) => l.msg === 'server listening')?.process).toBeUndefined();
    expect(pidRuns(server.inboxPid)).toBe(false);
    expect(done.status).toBe('succeeded');
    expect(h.github.pulls).toHaveLength(1);
    expect(code).toBe(0);
    expect(server.lines.filter((l) => Number(l.level) >= 50)).toEqual([]);
  }, 90_000);

  it('leaves no inbox process behind when the server is killed', async () => {
    const h = await start(FIX_GREETING, { worker: false, inbox: { consume: false } });
    const server = await spawnCliServer({ ...h.workerProcessEnv, PORT: String(await freePort()) });
    const alive = pidRuns(server.inboxPid);
    server.child.kill('SIGKILL');
    await exited(server.child);

    // Its IPC channel to the server closes: it stops as it would when asked.
    await eventually(() => !pidRuns(server.inboxPid) || null, 30_000, 'the inbox process gone');
    expect(alive).toBe(true);
  }, 60_000);
});
