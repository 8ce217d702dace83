/** Where a repository's package cache is mounted in the sandbox (setup and maintenance only). */
export const SANDBOX_CACHE = '/var/cache/patchbay';

/**
 * The package managers' own variables, each pointing at its directory of the repository's cache, so
 * that a cold setup downloads nothing it downloaded before. One directory per tool: the cache is
 * trimmed a tool's directory at a time (see workspace/package-caches.ts), never a file at a time,
 * since cargo and go keep extracted trees a partial deletion would corrupt. pnpm copies out of its
 * store: a hard link would tie the checkout to the cache (and fails across mounts anyway).
 */
export function buildCacheEnv(root: string): Record<string, string> {
  const at = (tool: string) => `${root}/${tool}`;
  return {
    npm_config_cache: at('npm'),
    YARN_CACHE_FOLDER: at('yarn'),
    npm_config_store_dir: at('pnpm'),
    npm_config_package_import_method: 'copy',
    PIP_CACHE_DIR: at('pip'),
    UV_CACHE_DIR: at('uv'),
    CARGO_HOME: at('cargo'),
    GOMODCACHE: at('go-mod'),
    GOCACHE: at('go-build'),
    GRADLE_USER_HOME: at('gradle'),
    MAVEN_OPTS: `-Dmaven.repo.local=${at('maven')}`,
    // Bundler's download cache; BUNDLE_PATH would install the gems themselves into the cache.
    BUNDLE_USER_CACHE: at('bundle'),
  };
}

/** The tool directories buildCacheEnv names (made before a mount, so each tool finds its own). */
export const CACHE_TOOLS = [
  'npm',
  'yarn',
  'pnpm',
  'pip',
  'uv',
  'cargo',
  'go-mod',
  'go-build',
  'gradle',
  'maven',
  'bundle',
] as const;
