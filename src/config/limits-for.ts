import type { FileConfig, LimitsConfig, RepositoryConfig } from './file-schema.js';

/** The limits a repository's tasks run under: its own `limits:` keys over the top-level ones. */
export function limitsFor(
  file: Pick<FileConfig, 'limits'>,
  repo: Pick<RepositoryConfig, 'limits'>,
): LimitsConfig {
  return { ...file.limits, ...repo.limits };
}

/**
 * Checks that the limits can hold together, top level and for each repository once its own keys are
 * applied: /tmp lives inside the disk limit, so a /tmp larger than it could never be filled.
 */
export function checkLimits(file: Pick<FileConfig, 'limits' | 'repositories'>, path: string): string[] {
  const problems: string[] = [];
  const check = (where: string, limits: LimitsConfig) => {
    if (limits.tmp_mb > limits.disk_mb) {
      problems.push(
        `${path} ${where}: tmp_mb (${limits.tmp_mb}) is more than disk_mb (${limits.disk_mb}); /tmp counts toward disk_mb, so lower tmp_mb or raise disk_mb`,
      );
    }
  };
  check('limits', file.limits);
  for (const [i, repo] of file.repositories.entries()) {
    if (repo.limits) check(`repositories.${i}.limits (${repo.name})`, limitsFor(file, repo));
  }
  return problems;
}
