import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PatchbayError } from '../../src/domain/errors.js';
import { findExecutable } from '../../src/sandbox/find-executable.js';
import { probeSandbox } from '../../src/sandbox/probe-sandbox.js';
import { SANDBOX_PATH } from '../../src/sandbox/sandbox-env.js';

interface Requirement {
  command: string;
  /**
   * `host`: the tests run it from their own PATH. `sandbox`: src/sandbox looks it up in the fixed
   * system PATH (never $PATH), and commands inside bubblewrap see only the system's directories.
   */
  where: 'host' | 'sandbox';
  debianPackage?: string;
  /** For a command no Debian package provides well: what to do instead. */
  advice?: string;
  why: string;
}

const GIT: Requirement = {
  command: 'git',
  where: 'host',
  debianPackage: 'git',
  why: 'workspaces, test remotes, git http-backend',
};
const BWRAP: Requirement = {
  command: 'bwrap',
  where: 'sandbox',
  debianPackage: 'bubblewrap',
  why: 'the sandbox of every agent command',
};
/** Without any of these, setup commands get no internet and the sandbox's network tests fail. */
const NETWORK_COMMANDS = ['slirp4netns', 'ip', 'unshare'];

const REQUIREMENTS: readonly Requirement[] = [
  GIT,
  BWRAP,
  {
    command: 'slirp4netns',
    where: 'sandbox',
    debianPackage: 'slirp4netns',
    why: 'setup commands reach the internet through it',
  },
  {
    command: 'ip',
    where: 'sandbox',
    debianPackage: 'iproute2',
    why: "the routes that keep setup commands off the host's network",
  },
  {
    command: 'unshare',
    where: 'sandbox',
    debianPackage: 'util-linux',
    why: "setup commands' own network namespace",
  },
  {
    command: 'ps',
    where: 'sandbox',
    debianPackage: 'procps',
    why: 'a sandbox test lists the processes a command can see',
  },
  {
    command: 'node',
    where: 'sandbox',
    advice: 'install Node 20.19+ under /usr or /usr/local (e.g. NodeSource), not only under your home (nvm)',
    why: 'the end-to-end tests run `node test.js` as a check command inside bubblewrap',
  },
];

/** The browser project's one need (tests/browser): Debian's chromium, driven by playwright-core. */
const CHROMIUM: Requirement = {
  command: 'chromium',
  where: 'host',
  debianPackage: 'chromium',
  why: 'the browser tests of the task page and the dashboard (no browser is downloaded)',
};

/** `git merge-tree --write-tree`, which rebasing onto a branch someone else pushed to needs. */
const MIN_GIT = [2, 38] as const;

export interface PreflightInput {
  /** The PATH the tests run git and redis-server from. */
  hostPath: string;
  /** Where src/sandbox looks for its programs; SANDBOX_PATH unless a test says otherwise. */
  sandboxPath?: string;
  /** Set when nothing answers on REDIS_URL (shown without its password): redis-server is then needed. */
  unansweredRedisUrl?: string;
}

interface Problem {
  text: string;
  debianPackage?: string;
}

/**
 * Checks that this machine can run the test suite: every command the tests need, a git new enough,
 * and a bubblewrap that can really create its sandbox (with internet for setup commands). Returns one
 * report naming every problem and the apt-get line that fixes the missing packages, or undefined.
 */
export async function runPreflight(input: PreflightInput): Promise<string | undefined> {
  const sandboxPath = input.sandboxPath ?? SANDBOX_PATH;
  const requirements = input.unansweredRedisUrl
    ? [...REQUIREMENTS, redisServerRequirement(input.unansweredRedisUrl)]
    : REQUIREMENTS;
  const find = (r: Requirement) =>
    findExecutable(r.command, r.where === 'host' ? input.hostPath : sandboxPath);
  const missing = requirements.filter((r) => !find(r));
  const problems: Problem[] = missing.map(describeMissing);
  const git = find(GIT);
  if (git) problems.push(...(await checkGitVersion(git, input.hostPath)));
  const bwrap = find(BWRAP);
  const networkComplete = !missing.some((r) => NETWORK_COMMANDS.includes(r.command));
  if (bwrap) problems.push(...(await checkBubblewrap(bwrap, networkComplete)));
  if (problems.length === 0) return undefined;
  const lookedIn = missing.some((r) => r.where === 'sandbox') ? sandboxPath : undefined;
  return formatReport(problems, lookedIn);
}

/** What the browser project needs (only chromium): a report as runPreflight's, or undefined. */
export function runBrowserPreflight(input: { hostPath: string }): string | undefined {
  if (findExecutable(CHROMIUM.command, input.hostPath)) return undefined;
  return formatReport([describeMissing(CHROMIUM)], undefined);
}

function redisServerRequirement(url: string): Requirement {
  return {
    command: 'redis-server',
    where: 'host',
    debianPackage: 'redis-server',
    why: `nothing answers on ${url}, so the tests would start a private one (or set REDIS_URL)`,
  };
}

function describeMissing(r: Requirement): Problem {
  if (!r.debianPackage) return { text: `${r.command} is missing (${r.advice}): ${r.why}` };
  return {
    text: `${r.command} is missing (Debian package ${r.debianPackage}): ${r.why}`,
    debianPackage: r.debianPackage,
  };
}

async function checkGitVersion(git: string, hostPath: string): Promise<Problem[]> {
  const stdout = await promisify(execFile)(git, ['--version'], { env: { PATH: hostPath } }).then(
    (r) => r.stdout,
    (err: Error) => err.message,
  );
  const match = /(\d+)\.(\d+)(\.\d+)?/.exec(stdout);
  const [major, minor] = [Number(match?.[1] ?? 0), Number(match?.[2] ?? 0)];
  if (major > MIN_GIT[0] || (major === MIN_GIT[0] && minor >= MIN_GIT[1])) return [];
  const found = match?.[0] ?? `of unknown version (${stdout.trim()})`;
  const text =
    `git ${found} (${git}) is older than ${MIN_GIT.join('.')}: the tests rebase with ` +
    '`git merge-tree --write-tree` (Debian 12 and Ubuntu 24.04 ship a new enough git)';
  return [{ text }];
}

/** probeSandbox is what the worker runs at start-up: a real sandboxed `true`, then the internet chain. */
async function checkBubblewrap(bwrap: string, checkInternet: boolean): Promise<Problem[]> {
  try {
    const probe = await probeSandbox({ mode: 'bwrap', bwrapPath: bwrap });
    if (!checkInternet || !probe.warning) return [];
    return [
      { text: `bubblewrap works, but the sandbox tests of setup commands would fail. ${probe.warning}` },
    ];
  } catch (err) {
    if (!(err instanceof PatchbayError)) throw err;
    return [
      {
        text:
          `${err.message}. In a container, run it with security_opt seccomp=unconfined, apparmor=unconfined ` +
          'and systempaths=unconfined; on Ubuntu 23.10 or later, set the sysctl ' +
          'kernel.apparmor_restrict_unprivileged_userns=0 (or give bwrap and unshare an AppArmor profile)',
      },
    ];
  }
}

function formatReport(problems: readonly Problem[], sandboxPath: string | undefined): string {
  const packages = [...new Set(problems.flatMap((p) => (p.debianPackage ? [p.debianPackage] : [])))];
  const lines = ["Patchbay's tests cannot run on this machine:", ...problems.map((p) => `  - ${p.text}`)];
  if (sandboxPath) {
    lines.push(`The sandbox's programs are looked up in ${sandboxPath} only, never in PATH.`);
  }
  if (packages.length > 0) {
    lines.push(
      'Install the missing packages (Debian or Ubuntu, as root):',
      `  apt-get install -y --no-install-recommends ${packages.join(' ')}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
