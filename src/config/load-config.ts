import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { PatchbayError } from '../domain/errors.js';
import { describeIssues } from '../lib/zod-issues.js';
import { EnvConfig } from './env-schema.js';
import { FileConfig, type RepositoryConfig } from './file-schema.js';
import { checkLimits } from './limits-for.js';
import { buildModelCatalog, type ModelCatalog } from './model-catalog.js';

export interface Config {
  env: EnvConfig;
  file: FileConfig;
  /** The allowlist by name. */
  repositories: ReadonlyMap<string, RepositoryConfig>;
  /** `models:` (and the old `pricing:`) with PATCHBAY_MODEL: what tasks may run on. */
  models: ModelCatalog;
}

function describeProblems(where: string, error: z.ZodError, hideValues: boolean): string {
  // zod may echo a received value in unrecognised-key or enum messages; environment values can be secrets.
  return describeIssues(error, { root: '(top level)', hideValues })
    .map((issue) => `${where} ${issue}`)
    .join('\n');
}

/** Validates the process environment. Errors name the variable, never its value. */
export function parseEnv(env: Record<string, string | undefined>): EnvConfig {
  const cleaned: Record<string, unknown> = Object.fromEntries(
    Object.entries(env).filter(([k, v]) => v !== undefined && v !== '' && k !== 'hookSecrets'),
  );
  const hooks = gatherHookSecrets(cleaned as Record<string, string>);
  const result = EnvConfig.safeParse({ ...cleaned, hookSecrets: hooks.secrets });
  const problems = result.success ? [] : [describeProblems('environment variable', result.error, true)];
  problems.push(...hooks.problems);
  if (!result.success || problems.length) {
    throw new PatchbayError('invalid_config', problems.join('\n'), {
      hint: 'fix the variables above (see .env.example) and start again',
    });
  }
  return result.data;
}

const HOOK_SECRET = /^PATCHBAY_HOOK_SECRET_([A-Z0-9_]+)$/;

/** Every `PATCHBAY_HOOK_SECRET_<NAME>` by `<NAME>`; a short one is a problem that names the variable. */
function gatherHookSecrets(env: Record<string, string>) {
  const secrets: Record<string, string> = {};
  const problems: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    const name = HOOK_SECRET.exec(key)?.[1];
    if (!name) continue;
    if (value.length < 16) {
      problems.push(
        `environment variable ${key}: must be at least 16 characters (use \`openssl rand -hex 32\`)`,
      );
    } else secrets[name] = value;
  }
  return { secrets, problems };
}

/** Validates patchbay.yml text and the references between its sections. */
export function parseFileConfig(text: string, path = 'patchbay.yml'): FileConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new PatchbayError('invalid_config', `${path} is not valid YAML: ${(err as Error).message}`);
  }
  const result = FileConfig.safeParse(raw ?? {});
  if (!result.success) {
    throw new PatchbayError('invalid_config', describeProblems(path, result.error, false), {
      hint: `fix ${path} (see patchbay.example.yml) and start again`,
    });
  }
  checkReferences(result.data, path);
  return result.data;
}

function checkReferences(file: FileConfig, path: string): void {
  const names = new Set<string>();
  const problems: string[] = checkLimits(file, path);
  for (const [i, repo] of file.repositories.entries()) {
    if (names.has(repo.name.toLowerCase()))
      problems.push(`${path} repositories.${i}.name: ${repo.name} is listed twice`);
    names.add(repo.name.toLowerCase());
  }
  const models = new Set<string>();
  for (const [i, model] of file.models.entries()) {
    if (models.has(model.name)) problems.push(`${path} models.${i}.name: ${model.name} is listed twice`);
    models.add(model.name);
  }
  problems.push(
    ...duplicateNames(file.schedules, 'schedules', path),
    ...duplicateNames(file.hooks, 'hooks', path),
  );
  const refs: Array<[string, string | undefined]> = [
    ['defaults.repository', file.defaults.repository],
    ...file.schedules.map((s, i): [string, string] => [`schedules.${i}.repository`, s.repository]),
    ...file.hooks.map((h, i): [string, string] => [`hooks.${i}.repository`, h.repository]),
    ['slack.repository', file.slack.repository],
    ...Object.entries(file.slack.channels).map(([k, v]): [string, string] => [`slack.channels.${k}`, v]),
    ...Object.entries(file.linear.teams).map(([k, v]): [string, string] => [`linear.teams.${k}`, v]),
    ...Object.entries(file.linear.projects).map(([k, v]): [string, string] => [`linear.projects.${k}`, v]),
  ];
  for (const [field, repo] of refs) {
    if (repo && !names.has(repo.toLowerCase())) {
      problems.push(
        `${path} ${field}: ${repo} is not in repositories; add it there or pick one of ${[...names].join(', ')}`,
      );
    }
  }
  if (problems.length) throw new PatchbayError('invalid_config', problems.join('\n'));
}

function duplicateNames(list: Array<{ name: string }>, section: string, path: string): string[] {
  const seen = new Set<string>();
  return list.flatMap((item, i) => {
    const twice = seen.has(item.name);
    seen.add(item.name);
    return twice ? [`${path} ${section}.${i}.name: ${item.name} is listed twice`] : [];
  });
}

export function buildConfig(env: EnvConfig, file: FileConfig): Config {
  const models = buildModelCatalog(file, env.PATCHBAY_MODEL);
  const unknown = file.schedules.flatMap((schedule, i) =>
    schedule.model && !models.find(schedule.model)
      ? [
          `${env.PATCHBAY_CONFIG} schedules.${i}.model: there is no model named "${schedule.model}" (models: has ${models.describe()})`,
        ]
      : [],
  );
  if (unknown.length) throw new PatchbayError('invalid_config', unknown.join('\n'));
  return {
    env,
    file,
    repositories: new Map(file.repositories.map((r) => [r.name.toLowerCase(), r])),
    models,
  };
}

/** Reads and validates everything Patchbay needs to start; any error names the field and the fix. */
export async function loadConfig(env: Record<string, string | undefined>): Promise<Config> {
  const parsedEnv = parseEnv(env);
  let text: string;
  try {
    text = await readFile(parsedEnv.PATCHBAY_CONFIG, 'utf8');
  } catch {
    throw new PatchbayError('invalid_config', `cannot read ${parsedEnv.PATCHBAY_CONFIG}`, {
      hint: 'copy patchbay.example.yml to patchbay.yml and list your repositories, or set PATCHBAY_CONFIG',
    });
  }
  return buildConfig(parsedEnv, parseFileConfig(text, parsedEnv.PATCHBAY_CONFIG));
}

export function findRepository(
  config: Pick<Config, 'repositories'>,
  name: string,
): RepositoryConfig | undefined {
  return config.repositories.get(name.toLowerCase());
}
