import { z } from 'zod';
import { isPatchbayBranch } from '../../domain/conversation.js';

/** The check events the autofix listens to. */
export const CHECK_EVENTS: ReadonlySet<string> = new Set([
  'check_suite',
  'check_run',
  'status',
  'workflow_run',
]);

/** One delivery that may settle the checks of a commit on a `patchbay/` branch. */
export interface CheckSignal {
  event: 'check_suite' | 'check_run' | 'status' | 'workflow_run';
  repo: string;
  sha: string;
  branch: string;
  installationId?: number;
}

export type ParsedCheckDelivery =
  | { kind: 'signal'; signal: CheckSignal }
  | { kind: 'ignored'; reason: string }
  | { kind: 'malformed'; reason: string };

const Repository = z.object({ full_name: z.string().min(1) });
const Installation = z.object({ id: z.number().int() }).optional();

/** https://docs.github.com/webhooks/webhook-events-and-payloads#check_suite */
const CheckSuite = z.object({
  action: z.string(),
  check_suite: z.object({ head_sha: z.string().min(7), head_branch: z.string().nullable() }),
  repository: Repository,
  installation: Installation,
});

/** https://docs.github.com/webhooks/webhook-events-and-payloads#check_run */
const CheckRun = z.object({
  action: z.string(),
  check_run: z.object({
    head_sha: z.string().min(7),
    check_suite: z.object({ head_branch: z.string().nullable() }).optional(),
  }),
  repository: Repository,
  installation: Installation,
});

/** https://docs.github.com/webhooks/webhook-events-and-payloads#status */
const Status = z.object({
  sha: z.string().min(7),
  state: z.string(),
  branches: z.array(z.object({ name: z.string() })).default([]),
  repository: Repository,
  installation: Installation,
});

/** https://docs.github.com/webhooks/webhook-events-and-payloads#workflow_run */
const WorkflowRun = z.object({
  action: z.string(),
  workflow_run: z.object({ head_sha: z.string().min(7), head_branch: z.string().nullable() }),
  repository: Repository,
  installation: Installation,
});

/**
 * A verified check delivery → the commit it is about, or why it is ignored. Whatever is not on a
 * `patchbay/` branch is dropped here, before any API call: an organisation sends a great many of
 * these for branches that are none of Patchbay's business. Only completed runs, suites and workflow
 * runs, and statuses that are no longer pending, can settle a commit's checks.
 */
export function parseCheckDelivery(event: string, body: unknown): ParsedCheckDelivery {
  switch (event) {
    case 'check_suite':
      return fromRun(event, CheckSuite.safeParse(body), (p) => ({
        action: p.action,
        sha: p.check_suite.head_sha,
        branches: [p.check_suite.head_branch],
      }));
    case 'check_run':
      return fromRun(event, CheckRun.safeParse(body), (p) => ({
        action: p.action,
        sha: p.check_run.head_sha,
        branches: [p.check_run.check_suite?.head_branch ?? null],
      }));
    case 'workflow_run':
      return fromRun(event, WorkflowRun.safeParse(body), (p) => ({
        action: p.action,
        sha: p.workflow_run.head_sha,
        branches: [p.workflow_run.head_branch],
      }));
    case 'status':
      return fromRun(event, Status.safeParse(body), (p) => ({
        action: p.state === 'pending' ? 'pending' : 'completed',
        sha: p.sha,
        branches: p.branches.map((b) => b.name),
      }));
    default:
      return { kind: 'ignored', reason: 'event not handled' };
  }
}

type Common = { repository: { full_name: string }; installation?: { id: number } };

function fromRun<T extends Common>(
  event: CheckSignal['event'],
  parsed: { success: true; data: T } | { success: false },
  read: (payload: T) => { action: string; sha: string; branches: Array<string | null> },
): ParsedCheckDelivery {
  if (!parsed.success) return { kind: 'malformed', reason: `not a ${event} payload` };
  const { action, sha, branches } = read(parsed.data);
  const branch = branches.find((b): b is string => b !== null && isPatchbayBranch(b));
  if (!branch) return { kind: 'ignored', reason: 'not a patchbay/ branch' };
  if (action !== 'completed') return { kind: 'ignored', reason: `action ${action}` };
  return {
    kind: 'signal',
    signal: {
      event,
      repo: parsed.data.repository.full_name,
      sha,
      branch,
      installationId: parsed.data.installation?.id,
    },
  };
}
