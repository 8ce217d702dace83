// Run by .ci/check-dist-loads in its directory of dist/ and production dependencies: `patchbay
// server` as the Docker image runs it (`node dist/cli.js server`) starts, its inbox process (the
// compiled entry dist/inbox-process.js) makes the task of a request it answered, and SIGTERM stops
// both with exit code 0. Uses the Redis at REDIS_URL, or a private redis-server.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const { ensureRedis } = await import(pathToFileURL('dist/demo/private-redis.js').href);
const redis = await ensureRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const port = await new Promise((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port: free } = probe.address();
    probe.close(() => resolve(free));
  });
});
const dir = mkdtempSync(join(tmpdir(), 'patchbay-dist-server-'));
writeFileSync(join(dir, 'patchbay.yml'), 'repositories:\n  - name: acme/web\n');
const token = randomBytes(16).toString('hex');
const id = randomBytes(4).toString('hex');
const child = spawn(process.execPath, ['dist/cli.js', 'server'], {
  env: {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    REDIS_URL: redis.url,
    PORT: String(port),
    PATCHBAY_CONFIG: join(dir, 'patchbay.yml'),
    PATCHBAY_DATA_DIR: join(dir, 'data'),
    PATCHBAY_REDIS_PREFIX: `pbdist:${id}:`,
    PATCHBAY_QUEUE: `pbdist-${id}`,
    PATCHBAY_API_TOKEN: token,
    LOG_LEVEL: 'info',
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let out = '';
child.stdout.on('data', (chunk) => {
  out += chunk.toString();
});
const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));

async function until(what, check, ms = 30_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end || child.exitCode !== null) throw new Error(`dist server: no ${what}\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

try {
  await until('"server listening"', () => out.includes('"msg":"server listening"'));
  const res = await fetch(`http://127.0.0.1:${port}/api/tasks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ repo: 'acme/web', instruction: 'fix the greeting' }),
  });
  if (res.status !== 202) throw new Error(`dist server: POST /api/tasks answered ${res.status}`);
  const task = await res.json();
  await until('task made in the inbox process', () =>
    out.split('\n').some((l) => l.includes('"process":"inbox"') && l.includes(`"taskId":"${task.id}"`)),
  );
  const started = out.split('\n').find((l) => l.includes('inbox consumer running in a process of its own'));
  const inboxPid = started ? JSON.parse(started).inboxPid : undefined;
  if (!inboxPid) throw new Error(`dist server: no inbox process named at start-up\n${out}`);
  child.kill('SIGTERM');
  const code = await exited;
  if (code !== 0) throw new Error(`dist server: exit code ${code} after SIGTERM\n${out}`);
  if (existsSync(`/proc/${inboxPid}`)) throw new Error(`dist server: inbox process ${inboxPid} still there`);
  console.log(
    'node dist/cli.js server: its inbox process made the task of an accepted request; SIGTERM → both gone, exit 0',
  );
} finally {
  if (child.exitCode === null) child.kill('SIGKILL');
  await redis.started?.stop();
}
