#!/usr/bin/env node
// Makes the example suite's repository: a git repository at the path given (default ./calc-repo,
// beside this script) holding fixture/ in one commit. Author, committer and dates are fixed, so the
// commit is the same on every machine: suite.yml names it.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dest = resolve(process.argv[2] ?? join(here, 'calc-repo'));
if (existsSync(dest)) {
  process.stderr.write(`${dest} exists already; remove it first\n`);
  process.exit(1);
}
cpSync(join(here, 'fixture'), dest, { recursive: true });
const env = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: dest,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Patchbay Examples',
  GIT_AUTHOR_EMAIL: 'examples@patchbay.invalid',
  GIT_COMMITTER_NAME: 'Patchbay Examples',
  GIT_COMMITTER_EMAIL: 'examples@patchbay.invalid',
  GIT_AUTHOR_DATE: '2025-01-01T00:00:00Z',
  GIT_COMMITTER_DATE: '2025-01-01T00:00:00Z',
};
const git = (...args) => execFileSync('git', args, { cwd: dest, env, encoding: 'utf8' }).trim();
git('init', '-q', '-b', 'main');
git('add', '--all');
git('commit', '-q', '-m', 'calc: sumTo, clamp and slugify');
process.stdout.write(`${git('rev-parse', 'HEAD')}\n`);
