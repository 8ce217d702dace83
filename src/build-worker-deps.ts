import OpenAI from 'openai';
import { createAgent } from './agent/create-agent.js';
import { buildGitHubAccess } from './build-github-access.js';
import { dataDirOf } from './cache-command.js';
import type { Config } from './config/load-config.js';
import { toTaskPageUrl } from './config/task-page-links.js';
import { PatchbayError } from './domain/errors.js';
import { createPullRequestHost } from './integrations/github/pull-request-host.js';
import { createPullRequests } from './integrations/github/pull-requests.js';
import { formatBytes } from './lib/format-bytes.js';
import type { Logger } from './lib/logger.js';
import { createSandbox } from './sandbox/create-sandbox.js';
import { createEgressProxy, type EgressProxy } from './sandbox/egress-proxy.js';
import { createPublicResolver } from './sandbox/egress-resolver.js';
import { parseUpstreamProxy, type UpstreamProxy } from './sandbox/egress-upstream.js';
import { probeLimits } from './sandbox/probe-limits.js';
import { probeSandbox } from './sandbox/probe-sandbox.js';
import { toolFingerprint } from './sandbox/tool-fingerprint.js';
import type { SandboxHost } from './sandbox/types.js';
import { createPackageCaches } from './tasks/environment.js';
import { toTaskLimits } from './tasks/limited-attempt.js';
import { createEntryPreparer } from './tasks/prepare-entry.js';
import { createPullRequestPublisher } from './tasks/publish-changes.js';
import { createWorkspaces } from './workspace/create-workspaces.js';

/**
 * The worker's clients: git workspaces, the model, GitHub. `poolSize` is the number of warm clones kept
 * per repository (default one per task the worker runs at once; 0 for a single task in the foreground).
 */
export function buildWorkerDeps(
  config: Config,
  log: Logger,
  github = buildGitHubAccess(config.env, log),
  opts: WorkerDepsOptions = {},
) {
  const env = config.env;
  const agent = buildAgent(config, log);
  const serverUrl = env.GITHUB_SERVER_URL.replace(/\/+$/, '');
  const root = dataDirOf({ PATCHBAY_DATA_DIR: env.PATCHBAY_DATA_DIR });
  const environment = opts.sandbox ? buildEnvironment(config, root, log, opts) : undefined;
  const workspaces = createWorkspaces({
    searchPath: process.env.PATH,
    root,
    remoteUrl: (repo) => `${serverUrl}/${repo}.git`,
    credentials: github.credentials,
    log,
    pool: { size: opts.poolSize ?? env.PATCHBAY_CONCURRENCY },
    ...(environment ? { preparer: environment.preparer } : {}),
  });
  const pulls = createPullRequests({ octokit: github.clients, log });
  const host = createPullRequestHost(pulls, toTaskPageUrl(env.PATCHBAY_PUBLIC_URL));
  const publisher = createPullRequestPublisher({ host, workspaces, log });
  return { workspaces, agent, publisher, ...(environment ? { environment: environment.deps } : {}) };
}

export interface WorkerDepsOptions {
  poolSize?: number;
  /** With the sandbox, pool entries are prepared (setup run in them) and setup gets package caches. */
  sandbox?: SandboxHost;
  setupEnv?: Map<string, Record<string, string>>;
  redact?: (text: string) => string;
}

/** Prepared entries and package caches: the preparer for the pool, and what a task's setup gets. */
function buildEnvironment(config: Config, root: string, log: Logger, opts: WorkerDepsOptions) {
  const sandbox = opts.sandbox as SandboxHost;
  const redact = opts.redact ?? ((text: string) => text);
  const setupEnv = (repo: string) => opts.setupEnv?.get(repo) ?? {};
  const caches = createPackageCaches({ root, maxBytes: config.file.cache_mb * 1024 * 1024, log });
  const preparer = createEntryPreparer({
    config,
    sandbox,
    caches,
    setupEnv,
    redact,
    tools: toolFingerprint(),
    log,
  });
  return { preparer, deps: { caches, setupEnv, redact } };
}

/** The model loop on the configured OpenAI-compatible endpoint; a worker without one cannot start. */
export function buildAgent(config: Config, log: Logger) {
  const env = config.env;
  if (!env.OPENAI_API_KEY && !env.OPENAI_BASE_URL) {
    throw new PatchbayError('invalid_config', 'the worker needs a model', {
      hint: 'set OPENAI_API_KEY, or OPENAI_BASE_URL for another OpenAI-compatible server',
    });
  }
  const openai = new OpenAI({
    apiKey: env.OPENAI_API_KEY ?? 'none',
    baseURL: env.OPENAI_BASE_URL,
    maxRetries: 2,
  });
  return createAgent({ openai, model: config.models.default, log });
}

export interface WorkerSandbox {
  sandbox: SandboxHost;
  /** bubblewrap and the network of setup commands. */
  description: string;
  warning: string | undefined;
  /** The one start-up line on task limits: the defaults, which of them hold and how. */
  limits: string;
  /** Removes this worker's cgroup directory (its tasks' groups are gone by then). */
  close(): Promise<void>;
  /** The filtering proxy of the agent's commands, for repositories with `network: allowlist`. */
  egress: EgressProxy;
}

/**
 * The worker's sandbox: bubblewrap checked by running it, and where each task's cgroup goes (groups
 * of dead workers swept). `PATCHBAY_REQUIRE_LIMITS=1` makes a host without usable cgroups an error;
 * `cgroups: 'off'` forces the path without them (tests).
 */
export async function buildWorkerSandbox(
  config: Config,
  log: Logger,
  opts: { cgroups?: 'auto' | 'off' } = {},
): Promise<WorkerSandbox> {
  const probe = await probeSandbox({ mode: config.env.PATCHBAY_SANDBOX });
  const limits = await probeLimits({
    require: config.env.PATCHBAY_REQUIRE_LIMITS,
    cgroups: opts.cgroups,
    log,
  });
  const defaults = toTaskLimits(config.file.limits);
  const overridden = config.file.repositories.filter((r) => r.limits).map((r) => r.name);
  return {
    sandbox: createSandbox({ mode: probe.mode, log, cgroups: limits.cgroups }),
    description: probe.description,
    warning: probe.warning,
    limits:
      `per task: memory ${formatBytes(defaults.memoryBytes)}, ${defaults.processes} processes, ` +
      `disk ${formatBytes(defaults.diskBytes)}, /tmp ${formatBytes(defaults.tmpBytes)}, CPU weight ${defaults.cpuWeight}` +
      `${overridden.length ? ` (own limits: ${overridden.join(', ')})` : ''}; enforced by ${limits.description}`,
    close: async () => limits.cgroups?.close(),
    egress: createEgressProxy({ resolve: createPublicResolver(), upstream: upstreamOf(config.env), log }),
  };
}

/** The host's own proxy (HTTPS_PROXY, else HTTP_PROXY), which Patchbay's filtering proxy chains to. */
function upstreamOf(env: Config['env']): UpstreamProxy | undefined {
  if (env.HTTPS_PROXY) return parseUpstreamProxy(env.HTTPS_PROXY, 'HTTPS_PROXY');
  if (env.HTTP_PROXY) return parseUpstreamProxy(env.HTTP_PROXY, 'HTTP_PROXY');
  return undefined;
}
