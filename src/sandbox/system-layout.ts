import { lstatSync, readlinkSync } from 'node:fs';

/** One host path made visible in the sandbox, read-only: a bind mount, or the same symlink recreated. */
export type SystemMount =
  | { kind: 'ro-bind'; path: string }
  | { kind: 'symlink'; path: string; target: string };

/** The system's own directories: `/usr` plus the usr-merge links (or real directories on older systems). */
const SYSTEM_PATHS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/**
 * What of `/etc` programs need to run, resolve users and hosts, and talk TLS. Never the whole of
 * `/etc`: it holds shadow, ssh host keys, service credentials. `/etc/ssl/private` stays out too (when
 * Patchbay runs as root, the sandbox's uid 0 owns those files). resolv.conf is added per network mode.
 */
export const ETC_ALLOWLIST = [
  '/etc/passwd',
  '/etc/group',
  '/etc/hosts',
  '/etc/nsswitch.conf',
  '/etc/host.conf',
  '/etc/gai.conf',
  '/etc/services',
  '/etc/protocols',
  '/etc/ld.so.cache',
  '/etc/ld.so.conf',
  '/etc/ld.so.conf.d',
  '/etc/ssl/certs',
  '/etc/ssl/openssl.cnf',
  '/etc/ca-certificates',
  '/etc/ca-certificates.conf',
  '/etc/alternatives',
  '/etc/localtime',
  '/etc/gitconfig',
];

/** Looks at the host once: which of the system paths and allowlisted /etc entries exist, and how. */
export function detectSystemLayout(): SystemMount[] {
  return [...SYSTEM_PATHS, ...ETC_ALLOWLIST].flatMap((path) => describeMount(path));
}

function describeMount(path: string): SystemMount[] {
  try {
    const stat = lstatSync(path);
    // Recreating a symlink keeps usr-merge (/bin -> usr/bin) and /etc/localtime exactly as on the host.
    if (stat.isSymbolicLink()) return [{ kind: 'symlink', path, target: readlinkSync(path) }];
    return [{ kind: 'ro-bind', path }];
  } catch {
    return [];
  }
}
