import { createHash } from 'node:crypto';
import type { WorkspaceContext } from './workspace-context.js';

/** The files a setup usually depends on: lockfiles, manifests and tool version pins, anywhere in the tree. */
export const DEFAULT_SETUP_INPUTS: readonly string[] = [
  '**/package-lock.json',
  '**/npm-shrinkwrap.json',
  '**/pnpm-lock.yaml',
  '**/yarn.lock',
  '**/package.json',
  '**/.npmrc',
  '**/.nvmrc',
  '**/.node-version',
  '**/.tool-versions',
  '**/requirements*.txt',
  '**/poetry.lock',
  '**/uv.lock',
  '**/Pipfile.lock',
  '**/pyproject.toml',
  '**/.python-version',
  '**/Cargo.lock',
  '**/Cargo.toml',
  '**/rust-toolchain.toml',
  '**/go.mod',
  '**/go.sum',
  '**/Gemfile.lock',
  '**/Gemfile',
  '**/composer.lock',
  '**/pom.xml',
  '**/build.gradle',
  '**/build.gradle.kts',
  '**/gradle.lockfile',
];

/** What makes a prepared entry valid besides its commit's files: the commands and the worker's tools. */
export interface SetupRecipe {
  /** Globs of the setup's input files (`**` any directories, `*` and `?` within a name). */
  inputs: readonly string[];
  /** A digest of the setup and maintenance commands and of the system tools' versions. */
  fingerprint: string;
}

/** A glob as a regular expression over a path relative to the repository root, `/`-separated. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? '';
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` matches any number of whole directories, none included; a bare `**` anything.
      const slash = glob[i + 2] === '/';
      out += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

export function matchesAnyGlob(path: string, globs: readonly RegExp[]): boolean {
  return globs.some((re) => re.test(path));
}

/**
 * The key of a setup at `sha`: the inputs' paths and blob ids (git's own content hashes, so no file
 * is read) and the recipe's fingerprint. Equal keys mean setup would have nothing new to do.
 */
export async function computeSetupKey(
  ctx: WorkspaceContext,
  gitDir: string,
  sha: string,
  recipe: SetupRecipe,
): Promise<string> {
  const globs = recipe.inputs.map(globToRegExp);
  const out = await ctx.git(['ls-tree', '-r', '-z', '--full-tree', sha], { cwd: gitDir });
  const inputs: string[] = [];
  for (const record of out.split('\0')) {
    const tab = record.indexOf('\t');
    if (tab < 0) continue;
    const path = record.slice(tab + 1);
    if (matchesAnyGlob(path, globs)) inputs.push(`${record.slice(0, tab)} ${path}`);
  }
  return setupKeyOf(inputs.sort(), recipe.fingerprint);
}

/** 16 hex digits: what a pool entry's name carries. */
export function setupKeyOf(inputs: readonly string[], fingerprint: string): string {
  return createHash('sha256').update(JSON.stringify({ inputs, fingerprint })).digest('hex').slice(0, 16);
}
