import { execFile } from 'node:child_process';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Environment for fixture git processes: no user or system config, no prompts. */
export function fixtureGitEnv(home = tmpdir()): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    LANG: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
  };
}

/** Runs git for fixtures and tests (not for Patchbay itself: see src/workspace/git.ts). */
export function git(
  args: string[],
  opts: { cwd?: string; input?: string | Buffer; env?: NodeJS.ProcessEnv } = {},
) {
  return new Promise<string>((resolve, reject) => {
    const child = execFile(
      'git',
      args,
      {
        cwd: opts.cwd,
        env: { ...fixtureGitEnv(), ...opts.env },
        maxBuffer: 256 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout, stderr) =>
        err ? reject(new Error(`git ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    );
    // git may exit before reading stdin (it needs none): ignore the broken pipe.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.input ?? '');
  });
}

export interface FixtureCommit {
  branch: string;
  message: string;
  /** path → content; null deletes the path */
  files: Record<string, string | null>;
  /** unix seconds; fixed by default so fixtures are reproducible */
  time?: number;
}

const IDENT = 'Fixture <fixture@example.com>';

function dataBlock(content: string | Buffer): Buffer {
  const body = Buffer.isBuffer(content) ? content : Buffer.from(content);
  return Buffer.concat([Buffer.from(`data ${body.length}\n`), body, Buffer.from('\n')]);
}

/** One commit as a `git fast-import` command; `from` names the parent when the branch already exists. */
export function fastImportCommit(commit: FixtureCommit, from?: string): Buffer {
  const time = commit.time ?? 1_700_000_000;
  const parts: Buffer[] = [
    Buffer.from(`commit refs/heads/${commit.branch}\ncommitter ${IDENT} ${time} +0000\n`),
    dataBlock(commit.message),
  ];
  if (from) parts.push(Buffer.from(`from ${from}\n`));
  for (const [path, content] of Object.entries(commit.files)) {
    if (content === null) parts.push(Buffer.from(`D ${path}\n`));
    else parts.push(Buffer.from(`M 100644 inline ${path}\n`), dataBlock(content));
  }
  parts.push(Buffer.from('\n'));
  return Buffer.concat(parts);
}

/** Feeds a fast-import stream into a (bare) repository: thousands of commits in seconds. */
export async function fastImport(gitDir: string, stream: Buffer | string): Promise<void> {
  await git(['--git-dir', gitDir, 'fast-import', '--quiet', '--done'], {
    input: Buffer.concat([Buffer.from(stream), Buffer.from('done\n')]),
  });
}

/** The sha of a branch tip in a bare repository, or undefined. */
export async function branchTip(gitDir: string, branch: string): Promise<string | undefined> {
  const out = await git([
    '--git-dir',
    gitDir,
    'rev-parse',
    '--verify',
    '--quiet',
    `refs/heads/${branch}`,
  ]).catch(() => '');
  return out.trim() || undefined;
}

/** Adds one commit to a branch of a bare repository directly ("someone else pushed"). */
export async function commitToBare(gitDir: string, commit: FixtureCommit): Promise<string> {
  const parent = await branchTip(gitDir, commit.branch);
  await fastImport(gitDir, fastImportCommit(commit, parent));
  return (await branchTip(gitDir, commit.branch)) ?? '';
}

/**
 * A bare repository with one commit holding `files` on `defaultBranch`, pushable over the git HTTP
 * stand-in (http.receivepack=true).
 */
export async function createBareRepo(
  gitDir: string,
  files: Record<string, string>,
  opts: { defaultBranch?: string } = {},
): Promise<string> {
  const branch = opts.defaultBranch ?? 'main';
  await mkdir(dirname(gitDir), { recursive: true });
  await git(['init', '--quiet', '--bare', `--initial-branch=${branch}`, gitDir]);
  await git(['--git-dir', gitDir, 'config', 'http.receivepack', 'true']);
  if (Object.keys(files).length > 0) await commitToBare(gitDir, { branch, message: 'Initial commit', files });
  return gitDir;
}

/** A fresh temporary directory. */
export function tempDir(prefix = 'patchbay-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}
