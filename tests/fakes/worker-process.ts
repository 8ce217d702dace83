import { type ChildProcess, spawn } from 'node:child_process';

/** `patchbay worker` in a process of its own, as production runs it; its stdout lines are kept. */
export function spawnWorker(env: Record<string, string>): ChildProcess & { logLines: string[] } {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), 'src/cli.ts', 'worker'], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      ...env,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n')));
  return Object.assign(child, { logLines: lines });
}

/** Resolves with the exit code once the process has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}
