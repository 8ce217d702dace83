import type { FileConfig } from './file-schema.js';

/**
 * Each repository's `setup_env` values from the host's environment, read once at start: a name that
 * is not set is left out (its setup sees nothing), never an empty value.
 */
export function readSetupEnv(
  file: Pick<FileConfig, 'repositories'>,
  hostEnv: Record<string, string | undefined>,
): Map<string, Record<string, string>> {
  const byRepo = new Map<string, Record<string, string>>();
  for (const repo of file.repositories) {
    const values: Record<string, string> = {};
    for (const name of repo.setup_env) {
      const value = hostEnv[name];
      if (value) values[name] = value;
    }
    byRepo.set(repo.name, values);
  }
  return byRepo;
}

/** Every setup_env value, for the redactor. */
export function setupEnvSecrets(setupEnv: Map<string, Record<string, string>>): string[] {
  return [...setupEnv.values()].flatMap((values) => Object.values(values));
}
