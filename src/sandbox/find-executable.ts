import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { SANDBOX_PATH } from './sandbox-env.js';

/**
 * The absolute path of a program, looked up in the fixed system PATH (never the host's `$PATH`, which
 * only main.ts may read) unless the caller passes another search path, or undefined. An absolute or
 * relative path with a slash is checked as given.
 */
export function findExecutable(name: string, searchPath: string = SANDBOX_PATH): string | undefined {
  const candidates = name.includes('/')
    ? [path.resolve(name)]
    : searchPath
        .split(':')
        .filter((dir) => dir !== '')
        .map((dir) => path.join(dir, name));
  return candidates.find(isExecutableFile);
}

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
