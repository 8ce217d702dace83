import type { Config } from '../../config/load-config.js';
import { findRepository } from '../../config/load-config.js';

export type IssueRoute =
  | { kind: 'repo'; repo: string; via: 'label' | 'description' | 'team' | 'project' | 'default' }
  | { kind: 'ask'; reason: 'unknown' | 'not_allowed'; named?: string };

export interface IssueFacts {
  labels: string[];
  description?: string | null;
  teamKey?: string;
  project?: { id: string; name: string } | null;
}

const LABEL = /^repo:\s*([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+)$/i;

/**
 * Which repository an issue means, in this order: a `repo:owner/name` label, a GitHub repository URL
 * in the description (the first one on the allowlist: descriptions link to other projects too), the
 * team's repository (`linear.teams`), the project's (`linear.projects`, by name or id), then
 * `defaults.repository`. A label naming a repository off the allowlist, or nothing found: ask.
 */
export function routeIssueRepository(
  issue: IssueFacts,
  config: Pick<Config, 'repositories' | 'file' | 'env'>,
): IssueRoute {
  for (const label of issue.labels) {
    const named = LABEL.exec(label.trim())?.[1];
    if (!named) continue;
    const entry = findRepository(config, named);
    return entry
      ? { kind: 'repo', repo: entry.name, via: 'label' }
      : { kind: 'ask', reason: 'not_allowed', named };
  }
  for (const named of repoUrlsIn(issue.description ?? '', repoHosts(config.env.GITHUB_SERVER_URL))) {
    const entry = findRepository(config, named);
    if (entry) return { kind: 'repo', repo: entry.name, via: 'description' };
  }
  const { teams, projects } = config.file.linear;
  const fallbacks: Array<[IssueRoute & { kind: 'repo' }, string | undefined]> = [
    [{ kind: 'repo', repo: '', via: 'team' }, issue.teamKey ? teams[issue.teamKey] : undefined],
    [
      { kind: 'repo', repo: '', via: 'project' },
      issue.project ? (projects[issue.project.name] ?? projects[issue.project.id]) : undefined,
    ],
    [{ kind: 'repo', repo: '', via: 'default' }, config.file.defaults.repository],
  ];
  for (const [route, repo] of fallbacks) {
    if (!repo) continue;
    const entry = findRepository(config, repo);
    if (entry) return { ...route, repo: entry.name };
    return { kind: 'ask', reason: 'not_allowed', named: repo };
  }
  return { kind: 'ask', reason: 'unknown' };
}

/** `owner/name` of every repository URL on these hosts, in order of appearance. */
export function repoUrlsIn(text: string, hosts: string[]): string[] {
  const found: string[] = [];
  const pattern = /https?:\/\/([^/\s]+)\/([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)/g;
  for (const match of text.slice(0, 50_000).matchAll(pattern)) {
    const [, host, owner, rawName] = match;
    if (!host || !owner || !rawName || !hosts.includes(host.toLowerCase())) continue;
    const name = rawName.replace(/\.git$/, '').replace(/\.+$/, '');
    if (name) found.push(`${owner}/${name}`);
  }
  return found;
}

function repoHosts(serverUrl: string): string[] {
  const hosts = new Set(['github.com', 'www.github.com']);
  try {
    hosts.add(new URL(serverUrl).host.toLowerCase());
  } catch {
    // the schema already validated the URL
  }
  return [...hosts];
}

/** The allowlist as people read it: `acme/web`, `acme/api`. */
export function allowedRepoList(config: Pick<Config, 'repositories'>): string {
  return [...config.repositories.values()].map((r) => `\`${r.name}\``).join(', ');
}
