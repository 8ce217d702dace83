import { statSync } from 'node:fs';
import path from 'node:path';
import { PatchbayError } from '../domain/errors.js';
import { DEFAULT_MAX_OUTPUT_BYTES } from './output-capper.js';
import type { SandboxRunRequest } from './types.js';

export interface ValidRequest {
  command: string;
  workdir: string;
  readOnlyPaths: string[];
  network: 'none' | 'internet' | 'proxy';
  proxyDir: string | undefined;
  timeoutMs: number;
  maxOutputBytes: number;
  signal: AbortSignal | undefined;
  env: Record<string, string>;
  cache: { dir: string; writable: boolean } | undefined;
}

/**
 * Checks a request before anything is spawned: a missing clone or mirror would otherwise surface as a
 * cryptic bwrap mount error, or (in 'none' mode) as a command running in the wrong directory.
 */
export function validateRequest(req: SandboxRunRequest): ValidRequest {
  if (typeof req.command !== 'string' || req.command.includes('\0')) {
    throw new PatchbayError('internal', 'sandbox command must be a string without NUL bytes');
  }
  if (req.network !== 'none' && req.network !== 'internet' && req.network !== 'proxy') {
    throw new PatchbayError(
      'internal',
      `sandbox network must be 'none', 'internet' or 'proxy', got ${String(req.network)}`,
    );
  }
  if ((req.network === 'proxy') !== (req.proxyDir !== undefined)) {
    throw new PatchbayError('internal', "sandbox proxyDir goes with network 'proxy', and only with it");
  }
  if (!Number.isFinite(req.timeoutMs) || req.timeoutMs <= 0) {
    throw new PatchbayError('internal', `sandbox timeoutMs must be a positive number, got ${req.timeoutMs}`);
  }
  return {
    command: req.command,
    workdir: requireDirectory(req.workdir, 'workdir'),
    readOnlyPaths: (req.readOnlyPaths ?? []).map(requireMountable),
    network: req.network,
    proxyDir: req.proxyDir === undefined ? undefined : requireDirectory(req.proxyDir, 'proxy directory'),
    timeoutMs: req.timeoutMs,
    maxOutputBytes: Math.max(0, Math.floor(req.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES)),
    signal: req.signal,
    env: req.env ?? {},
    cache: req.cache ? { dir: requireMountable(req.cache.dir), writable: req.cache.writable } : undefined,
  };
}

/** A read-only path must not replace the sandbox's own skeleton: `/` would expose the whole host. */
function requireMountable(p: string): string {
  const resolved = requireExisting(p, 'read-only path');
  if (resolved === '/' || ['/proc', '/dev'].some((r) => resolved === r || resolved.startsWith(`${r}/`))) {
    throw new PatchbayError('internal', `sandbox read-only path would cover the sandbox itself: ${resolved}`);
  }
  return resolved;
}

function requireDirectory(p: string, what: string): string {
  const resolved = requireExisting(p, what);
  if (!statSync(resolved).isDirectory()) {
    throw new PatchbayError('internal', `sandbox ${what} is not a directory: ${resolved}`);
  }
  return resolved;
}

function requireExisting(p: string, what: string): string {
  if (typeof p !== 'string' || !path.isAbsolute(p)) {
    throw new PatchbayError('internal', `sandbox ${what} must be an absolute path, got ${JSON.stringify(p)}`);
  }
  const resolved = path.resolve(p);
  try {
    statSync(resolved);
  } catch {
    throw new PatchbayError('internal', `sandbox ${what} does not exist: ${resolved}`);
  }
  return resolved;
}
