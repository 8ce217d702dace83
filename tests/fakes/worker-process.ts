import { type ChildProcess, spawn } from 'node:child_process';

/**
 * A command of the CLI (`worker`, `server`, `start`) in a process of its own, as production runs it:
 * its stdout kept as it came (`logLines`) and its JSON log lines parsed (`logged`, `said(msg)`).
 */
export function spawnCli(command: 'worker' | 'server' | 'start', env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), 'src/cli.ts', command], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      ...env,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logLines: string[] = [];
  const logged: Array<Record<string, unknown>> = [];
  let rest = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    logLines.push(...text.split('\n'));
    const parts = (rest + text).split('\n');
    rest = parts.pop() ?? '';
    for (const part of parts)
      if (part.startsWith('{')) logged.push(JSON.parse(part) as Record<string, unknown>);
  });
  const said = (msg: string) => logged.filter((l) => l.msg === msg);
  return Object.assign(child, { logLines, logged, said });
}

/** `patchbay worker` in a process of its own, as production runs it; its stdout lines are kept. */
export function spawnWorker(env: Record<string, string>): ChildProcess & { logLines: string[] } {
  return spawnCli('worker', env);
}

/** Resolves with the exit code once the process has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}
