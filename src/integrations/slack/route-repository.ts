import type { Config } from '../../config/load-config.js';
import { findRepository } from '../../config/load-config.js';
import { findNamedBase, findNamedRepo } from './parse-message.js';

export type RepoRoute =
  | { kind: 'repo'; repo: string; base?: string; via: 'message' | 'thread' | 'channel' | 'workspace' }
  | { kind: 'ask'; reason: 'unknown' | 'not_allowed'; named?: string };

export interface RouteInput {
  /** The message as plain text (see toPlainText). */
  text: string;
  channel: string;
  /** The repository of the thread's earlier work, if any: a follow-up stays on it. */
  threadRepo?: string;
  config: Pick<Config, 'repositories' | 'file' | 'env'>;
}

/**
 * Which repository a message means, in this order: named in the message, the thread's own, the
 * channel's default (`slack.channels`), the workspace default (`slack.repository`, then
 * `defaults.repository`). Unknown, or named but not on the allowlist: ask, never guess.
 */
export function routeRepository(input: RouteInput): RepoRoute {
  const { config, text } = input;
  const base = findNamedBase(text);
  const named = findNamedRepo(text, (n) => Boolean(findRepository(config, n)), repoHosts(config));
  if (named) {
    const entry = findRepository(config, named.repo);
    if (!entry) return { kind: 'ask', reason: 'not_allowed', named: named.repo };
    return { kind: 'repo', repo: entry.name, base, via: 'message' };
  }
  const fallbacks: Array<[RepoRoute & { kind: 'repo' }, string | undefined]> = [
    [{ kind: 'repo', repo: '', via: 'thread' }, input.threadRepo],
    [{ kind: 'repo', repo: '', via: 'channel' }, config.file.slack.channels[input.channel]],
    [{ kind: 'repo', repo: '', via: 'workspace' }, config.file.slack.repository],
    [{ kind: 'repo', repo: '', via: 'workspace' }, config.file.defaults.repository],
  ];
  for (const [route, repo] of fallbacks) {
    const entry = repo ? findRepository(config, repo) : undefined;
    if (entry) return { ...route, repo: entry.name, base };
  }
  return { kind: 'ask', reason: 'unknown' };
}

/** Hosts whose URLs name a repository: github.com and the configured GitHub server. */
function repoHosts(config: Pick<Config, 'env'>): string[] {
  const hosts = new Set(['github.com', 'www.github.com']);
  try {
    hosts.add(new URL(config.env.GITHUB_SERVER_URL).host);
  } catch {
    // the schema already validated the URL
  }
  return [...hosts];
}

/** The allowlist as people read it: `acme/web`, `acme/api`. */
export function allowedRepoList(config: Pick<Config, 'repositories'>): string {
  return [...config.repositories.values()].map((r) => `\`${r.name}\``).join(', ');
}
