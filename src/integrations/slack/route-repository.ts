import type { FileConfig } from '../../config/file-schema.js';
import type { RepositoryRules } from '../../config/repository-rules.js';
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
  rules: { repositories: RepositoryRules; slack: FileConfig['slack'] };
}

/**
 * Which repository a message means, in this order: named in the message, the thread's own, the
 * channel's default (`slack.channels`), the workspace default (`slack.repository`, then
 * `defaults.repository`). Unknown, or named but not on the allowlist: ask, never guess.
 */
export function routeRepository(input: RouteInput): RepoRoute {
  const { text } = input;
  const { repositories, slack } = input.rules;
  const base = findNamedBase(text);
  const named = findNamedRepo(text, (n) => Boolean(repositories.find(n)), repositories.hosts);
  if (named) {
    const entry = repositories.find(named.repo);
    if (!entry) return { kind: 'ask', reason: 'not_allowed', named: named.repo };
    return { kind: 'repo', repo: entry.name, base, via: 'message' };
  }
  const fallbacks: Array<[RepoRoute & { kind: 'repo' }, string | undefined]> = [
    [{ kind: 'repo', repo: '', via: 'thread' }, input.threadRepo],
    [{ kind: 'repo', repo: '', via: 'channel' }, slack.channels[input.channel]],
    [{ kind: 'repo', repo: '', via: 'workspace' }, slack.repository],
    [{ kind: 'repo', repo: '', via: 'workspace' }, repositories.defaultRepository],
  ];
  for (const [route, repo] of fallbacks) {
    const entry = repo ? repositories.find(repo) : undefined;
    if (entry) return { ...route, repo: entry.name, base };
  }
  return { kind: 'ask', reason: 'unknown' };
}
