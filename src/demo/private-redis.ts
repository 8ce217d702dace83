import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';

/** redis-server starts in milliseconds; past this something is wrong and waiting longer will not help. */
const READY_TIMEOUT_MS = 10_000;
/** Another process may take the free port between our probe and redis-server's bind. */
const PORT_ATTEMPTS = 3;

export interface PrivateRedis {
  url: string;
  port: number;
  /** Stops the server; resolves once it has exited. */
  stop(): Promise<void>;
}

/** The URL to show people: a password in it (`redis://:secret@host`) is left out. */
export function hideRedisPassword(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}

/** Whether a Redis answers PING at url: one try, no retries, no error events left behind. */
export async function redisAnswers(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined); // a refused connection is the answer we are asking for
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/**
 * The Redis at url when something answers there; else a private redis-server started from PATH
 * (`started` is then set, and the caller stops it). Used by `npm run demo` and the test suite.
 */
export async function ensureRedis(url: string): Promise<{ url: string; started?: PrivateRedis }> {
  if (await redisAnswers(url)) return { url };
  const started = await startPrivateRedis();
  return { url: started.url, started };
}

/**
 * Starts `redis-server` on a free loopback port with nothing persisted and `noeviction` (BullMQ loses
 * jobs otherwise), and resolves once it answers PING. Rejects with redis-server's own output if it
 * cannot start, or when the command is not found.
 */
export async function startPrivateRedis(opts: { command?: string } = {}): Promise<PrivateRedis> {
  const command = opts.command ?? 'redis-server';
  for (let attempt = 1; ; attempt++) {
    const port = await findFreePort();
    try {
      return await startOn(command, port);
    } catch (err) {
      const portTaken = err instanceof Error && /Address already in use/i.test(err.message);
      if (!portTaken || attempt >= PORT_ATTEMPTS) throw err;
    }
  }
}

async function startOn(command: string, port: number): Promise<PrivateRedis> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  args.push('--maxmemory-policy', 'noeviction', '--logfile', '', '--daemonize', 'no');
  // cwd: whatever redis-server might write never lands in the checkout.
  const child = spawn(command, args, { cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
  // A private server never outlives its starter, even one that exits on a signal without stopping it
  // (vitest calls process.exit on SIGTERM). Only a SIGKILLed starter leaves it behind.
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => {
    child.once('close', () => resolve());
    child.once('error', () => resolve()); // never spawned: there is nothing to wait for
  }).finally(() => process.off('exit', killOnExit));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    await waitUntilReady(child, command);
  } catch (err) {
    await stop();
    throw err;
  }
  const url = `redis://127.0.0.1:${port}`;
  if (!(await redisAnswers(url))) {
    await stop();
    throw new Error(`${command} said it was ready on port ${port} but does not answer PING`);
  }
  return { url, port, stop };
}

/** Resolves on redis-server's "Ready to accept connections" log line; rejects if it exits first. */
function waitUntilReady(child: ChildProcess, command: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    let settled = false;
    const timer = setTimeout(() => fail('not ready in time'), READY_TIMEOUT_MS);
    function finish(err?: Error) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const stream of [child.stdout, child.stderr]) {
        stream?.off('data', collect);
        stream?.resume(); // keep draining the log so that redis-server never blocks on a full pipe
      }
      if (err) reject(err);
      else resolve();
    }
    function fail(why: string) {
      finish(new Error(`${command} did not start (${why}): ${output.trim().slice(-500) || 'no output'}`));
    }
    function collect(chunk: Buffer) {
      output = (output + chunk.toString('utf8')).slice(-4000);
      if (/Ready to accept connections/.test(output)) finish();
    }
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.once('error', (err) => finish(new Error(`${command} could not be run: ${err.message}`)));
    child.once('exit', (code, signal) => fail(`exit ${code ?? signal}`));
  });
}

async function findFreePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
