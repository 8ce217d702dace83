import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** The CLI run in `cwd` as a user runs it, with only the environment given. */
async function cli(cwd: string, args: string[], env: Record<string, string> = {}) {
  const tsx = import.meta.resolve('tsx');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', tsx, join(process.cwd(), 'src/cli.ts'), ...args],
    { cwd, env: { PATH: process.env.PATH ?? '', HOME: cwd, NODE_OPTIONS: '', ...env } },
  );
  return stdout;
}

describe('.env in the working directory', () => {
  it('is read by the commands, as `cp .env.example .env` promises, and the environment wins over it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'patchbay-dotenv-'));
    dirs.push(dir);
    await writeFile(join(dir, '.env'), `PATCHBAY_DATA_DIR=${join(dir, 'from-file')}   # a comment\n`);

    const fromFile = await cli(dir, ['cache', 'clear', 'acme/web']);
    const fromEnv = await cli(dir, ['cache', 'clear', 'acme/web'], {
      PATCHBAY_DATA_DIR: join(dir, 'from-env'),
    });

    expect(fromFile).toContain(`cleared acme/web in ${join(dir, 'from-file')}:`);
    expect(fromEnv).toContain(`cleared acme/web in ${join(dir, 'from-env')}:`);
  });
});
