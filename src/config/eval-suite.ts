import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { PatchbayError } from '../domain/errors.js';
import { RepoName } from '../domain/task-request.js';
import { describeIssues } from '../lib/zod-issues.js';

const command = z.string().trim().min(1, 'a command may not be empty');

/**
 * One task of an eval suite: a repository at a commit, what to ask, and the hidden tests that decide
 * whether it was solved. The hidden test files live in the suite, never in the repository: they are
 * copied into the result only after the agent finished, and `command` runs them there.
 */
export const EvalTask = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9._-]{1,80}$/, 'letters, digits, ".", "_" and "-" only'),
    /** `owner/name` on GitHub (GITHUB_SERVER_URL), or a path to a git repository (relative to the suite). */
    repo: z.string().min(1),
    /** The commit (or branch) the task starts from. */
    commit: z.string().min(1).max(200),
    instruction: z.string().trim().min(1).max(20_000),
    /** Before the agent, like a repository's `setup` (network on, no secrets). */
    setup: z.array(command).default([]),
    hidden_tests: z
      .object({
        /** A directory of the suite; its contents are copied over the repository's root. */
        files: z.string().min(1),
        command,
        timeout_seconds: z.number().int().positive().optional(),
      })
      .strict(),
  })
  .strict();
export type EvalTask = z.infer<typeof EvalTask>;

export const EvalSuite = z
  .object({
    /** Models of `models:` to run the suite against when the command names none (else the default). */
    models: z.array(z.string().min(1)).optional(),
    tasks: z.array(EvalTask).min(1, 'list at least one task'),
  })
  .strict();
export type EvalSuite = z.infer<typeof EvalSuite>;

/** A suite with its paths resolved: where it lives, each local repository and hidden-test directory. */
export interface LoadedSuite {
  name: string;
  dir: string;
  models?: string[];
  tasks: Array<EvalTask & { hiddenDir: string; local: boolean }>;
}

/**
 * Reads and checks a suite: ids unique, every hidden-test directory inside the suite's directory, a
 * `repo` that is not `owner/name` an existing path (made absolute).
 */
export async function loadEvalSuite(path: string): Promise<LoadedSuite> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new PatchbayError('invalid_config', `cannot read the eval suite ${path}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new PatchbayError('invalid_config', `${path} is not valid YAML: ${(err as Error).message}`);
  }
  const parsed = EvalSuite.safeParse(raw ?? {});
  if (!parsed.success) {
    const problems = describeIssues(parsed.error, { root: '(top level)' }).map((p) => `${path} ${p}`);
    throw new PatchbayError('invalid_config', problems.join('\n'));
  }
  const dir = dirname(resolve(path));
  const seen = new Set<string>();
  const tasks = [];
  for (const [i, task] of parsed.data.tasks.entries()) {
    if (seen.has(task.id))
      throw new PatchbayError('invalid_config', `${path} tasks.${i}.id: ${task.id} is listed twice`);
    seen.add(task.id);
    tasks.push({ ...task, ...(await resolvePaths(dir, task, `${path} tasks.${i}`)) });
  }
  const name = relative(dir, resolve(path)).replace(/\.ya?ml$/, '');
  return { name, dir, models: parsed.data.models, tasks };
}

async function resolvePaths(dir: string, task: EvalTask, where: string) {
  const hiddenDir = resolve(dir, task.hidden_tests.files);
  const inside = relative(dir, hiddenDir);
  if (inside.startsWith('..') || isAbsolute(inside)) {
    throw new PatchbayError(
      'invalid_config',
      `${where}.hidden_tests.files: must be a directory of the suite`,
    );
  }
  if (!(await isDirectory(hiddenDir))) {
    throw new PatchbayError(
      'invalid_config',
      `${where}.hidden_tests.files: ${task.hidden_tests.files} is not a directory`,
    );
  }
  const path = resolve(dir, task.repo);
  if (await isDirectory(path)) return { hiddenDir, repo: path, local: true };
  if (RepoName.safeParse(task.repo).success) return { hiddenDir, local: false };
  throw new PatchbayError(
    'invalid_config',
    `${where}.repo: ${task.repo} is neither a directory nor owner/name`,
  );
}

const isDirectory = (path: string) =>
  stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
