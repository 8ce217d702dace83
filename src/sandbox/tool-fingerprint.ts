import { createHash } from 'node:crypto';
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SANDBOX_PATH } from './sandbox-env.js';

/** The tools a setup usually runs; their versions are part of a prepared entry's key. */
const TOOLS = [
  ...['node', 'npm', 'npx', 'pnpm', 'yarn', 'corepack', 'bun', 'deno'],
  ...['python3', 'python', 'pip', 'pip3', 'uv', 'poetry'],
  ...['cargo', 'rustc', 'rustup', 'go', 'ruby', 'bundle', 'gem', 'php', 'composer'],
  ...['java', 'javac', 'mvn', 'gradle', 'gcc', 'g++', 'cc', 'make', 'cmake'],
];

function describeTool(name: string): string | undefined {
  for (const dir of SANDBOX_PATH.split(':')) {
    try {
      const real = realpathSync(join(dir, name));
      const st = statSync(real);
      if (st.isFile()) return `${name}=${real}:${st.size}:${Math.floor(st.mtimeMs)}`;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

let memo: string | undefined;

/**
 * A digest of the system tools setup commands see (the sandbox mounts the host's `/usr` read-only):
 * each tool's resolved path, size and modification time, and the distribution's release. Reading a
 * version would run every tool (a JVM takes a second); an upgrade changes the files either way.
 */
export function toolFingerprint(): string {
  if (memo !== undefined) return memo;
  const parts = TOOLS.map(describeTool).filter((p): p is string => p !== undefined);
  try {
    parts.push(readFileSync('/etc/os-release', 'utf8'));
  } catch {
    // no release file: the tools alone
  }
  memo = createHash('sha256').update(parts.join('\n')).digest('hex');
  return memo;
}
