import type { RepositoryConfig } from '../config/file-schema.js';
import { allowedDomains } from '../config/network-schema.js';
import type { TaskRecord } from '../domain/task.js';
import type { Logger } from '../lib/logger.js';
import type { BlockedName, EgressProxy, EgressSession } from '../sandbox/egress-proxy.js';
import type { Sandbox } from '../sandbox/types.js';
import { stampOf, type TimelineWriter } from './timeline-writer.js';

/** At most this many refused names go into the task's timeline entry; the rest are counted. */
const MAX_TIMELINE_NAMES = 50;

/** The agent's network for one attempt: its proxy session, and the sandbox its commands go through. */
export interface AgentNetwork {
  /** The agent's sandbox: its commands (network 'none') reach the listed names through the proxy. */
  sandbox: Sandbox;
  /** The names its commands may reach (with their subdomains). */
  domains: readonly string[];
  /** Names refused so far, first seen first. */
  blocked(): BlockedName[];
  /**
   * Ends the session (whatever the agent's run came to) and writes what it refused into the task's
   * timeline, once; returns the refused names for the pull request's body.
   */
  close(): Promise<string[]>;
}

/**
 * Opens the task's proxy when its repository has `network: allowlist`; otherwise (or with no proxy on
 * this worker) the agent's commands keep no network at all. Only the agent's commands get the proxy:
 * setup has its own network, and checks stay offline so that they judge the work as it is.
 */
export async function openAgentNetwork(
  deps: { egress?: EgressProxy | undefined; timeline: Pick<TimelineWriter, 'add'> },
  repo: RepositoryConfig,
  task: TaskRecord,
  sandbox: Sandbox,
  log: Logger,
): Promise<AgentNetwork | undefined> {
  const { egress } = deps;
  const domains = allowedDomains(repo);
  if (domains.length === 0) return undefined;
  if (sandbox.mode === 'none') {
    // Without bubblewrap the commands share the host's network: there is nothing to filter.
    log.warn({ repo: repo.name }, 'PATCHBAY_SANDBOX=none: the network allowlist is not enforced');
    return undefined;
  }
  if (!egress) {
    log.warn({ repo: repo.name }, 'no network proxy on this worker: the agent runs without network');
    return undefined;
  }
  const session = await egress.open({ taskId: task.id, domains });
  let closed: Promise<string[]> | undefined;
  return {
    sandbox: throughProxy(sandbox, session),
    domains,
    blocked: () => session.blocked(),
    close: () => {
      closed ??= session.close().then(() => noteBlocked(deps.timeline, task, session.blocked()));
      return closed;
    },
  };
}

/** The sandbox whose offline commands go through the session's proxy instead. */
function throughProxy(sandbox: Sandbox, session: EgressSession): Sandbox {
  return {
    mode: sandbox.mode,
    run: (req) =>
      sandbox.run(req.network === 'none' ? { ...req, network: 'proxy', proxyDir: session.dir } : req),
  };
}

/** The timeline entry's part: the first names with their counts, and how many more. */
export function blockedForTimeline(blocked: readonly BlockedName[]) {
  const names = blocked
    .slice(0, MAX_TIMELINE_NAMES)
    .map(({ name, reason, count }) => ({ name, reason, count }));
  return { names, more: Math.max(0, blocked.length - MAX_TIMELINE_NAMES) };
}

/** The names the agent's commands were refused go into the task's timeline (once per attempt). */
function noteBlocked(
  timeline: Pick<TimelineWriter, 'add'>,
  task: TaskRecord,
  blocked: readonly BlockedName[],
): string[] {
  if (blocked.length === 0) return [];
  timeline.add(task.id, { type: 'network_blocked', ...stampOf(task), ...blockedForTimeline(blocked) });
  return blocked.map((b) => b.name);
}
