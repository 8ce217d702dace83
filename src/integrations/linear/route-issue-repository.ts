import type { FileConfig } from '../../config/file-schema.js';
import { type RepositoryRules, repoUrlsIn } from '../../config/repository-rules.js';

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
  rules: { repositories: RepositoryRules; linear: FileConfig['linear'] },
): IssueRoute {
  const { repositories } = rules;
  for (const label of issue.labels) {
    const named = LABEL.exec(label.trim())?.[1];
    if (!named) continue;
    const entry = repositories.find(named);
    return entry
      ? { kind: 'repo', repo: entry.name, via: 'label' }
      : { kind: 'ask', reason: 'not_allowed', named };
  }
  for (const named of repoUrlsIn(issue.description ?? '', repositories.hosts)) {
    const entry = repositories.find(named);
    if (entry) return { kind: 'repo', repo: entry.name, via: 'description' };
  }
  const { teams, projects } = rules.linear;
  const fallbacks: Array<[IssueRoute & { kind: 'repo' }, string | undefined]> = [
    [{ kind: 'repo', repo: '', via: 'team' }, issue.teamKey ? teams[issue.teamKey] : undefined],
    [
      { kind: 'repo', repo: '', via: 'project' },
      issue.project ? (projects[issue.project.name] ?? projects[issue.project.id]) : undefined,
    ],
    [{ kind: 'repo', repo: '', via: 'default' }, repositories.defaultRepository],
  ];
  for (const [route, repo] of fallbacks) {
    if (!repo) continue;
    const entry = repositories.find(repo);
    if (entry) return { ...route, repo: entry.name };
    return { kind: 'ask', reason: 'not_allowed', named: repo };
  }
  return { kind: 'ask', reason: 'unknown' };
}
