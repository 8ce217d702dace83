import { PatchbayError } from '../domain/errors.js';

export const SANDBOX_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The whole environment a sandboxed command gets. It is built from nothing (an allowlist), never from
 * the host's `process.env`, so tokens and keys the host holds (GITHUB_TOKEN, OPENAI_API_KEY, REDIS_URL…)
 * cannot reach the command, whatever the host has set. `extra` may override the base, except HOME:
 * HOME always points at the empty directory, so a host's `~/.gitconfig` or credential files stay out.
 */
export function buildSandboxEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  for (const [name, value] of Object.entries(extra)) {
    if (!NAME.test(name) || value.includes('\0')) {
      throw new PatchbayError(
        'internal',
        `sandbox env variable ${JSON.stringify(name)} is not a valid name/value`,
      );
    }
  }
  return {
    PATH: SANDBOX_PATH,
    TMPDIR: '/tmp',
    LANG: 'C.UTF-8',
    TERM: 'dumb',
    CI: 'true',
    GIT_TERMINAL_PROMPT: '0',
    PAGER: 'cat',
    GIT_PAGER: 'cat',
    ...extra,
    HOME: home,
  };
}
