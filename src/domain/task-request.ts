import { z } from 'zod';
import { ReplyAddress } from './reply-address.js';

/** `owner/name`, as GitHub spells repositories. */
export const RepoName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'expected "owner/name"')
  .refine((s) => !s.split('/').some((p) => p === '.' || p === '..'), 'expected "owner/name"');
export type RepoName = z.infer<typeof RepoName>;

/** Who started a task: a person through one of these, or a machine (`schedule`, `hook`). */
export const TaskSource = z.enum(['api', 'cli', 'slack', 'linear', 'github', 'schedule', 'hook']);
export type TaskSource = z.infer<typeof TaskSource>;

/** Where a request came from, as the PR body and the task's pages show it. */
export const Origin = z.object({
  source: TaskSource,
  /** Human-readable: "Slack #eng thread", "Linear ENG-123", "HTTP API". */
  label: z.string().max(200),
  url: z.string().url().optional(),
  requester: z.string().max(200).optional(),
  /**
   * Set when Patchbay started the task itself within a source: `autofix` is a GitHub follow-up that
   * fixes the failing checks of Patchbay's own commit, not a person's request.
   */
  automation: z.enum(['autofix']).optional(),
});
export type Origin = z.infer<typeof Origin>;

/**
 * What every trigger produces and the queue carries. Text fields are untrusted: they reach the model
 * only as data.
 */
export const TaskRequest = z.object({
  repo: RepoName,
  instruction: z.string().trim().min(1, 'instruction is empty').max(20_000),
  /** The conversation key, already namespaced by source: `api:abc`, `slack:T1:C1:1712.1`, `linear:<issueId>`. */
  conversation: z.string().min(1).max(300),
  base: z
    .string()
    .max(200)
    .regex(/^[^\s~^:?*[\\]+$/, 'not a valid branch name')
    .optional(),
  /** Short stable key for the branch name (`ENG-123`); else derived from the conversation. */
  branchKey: z
    .string()
    .max(40)
    .regex(/^[A-Za-z0-9-]+$/)
    .optional(),
  /** Earlier messages of the thread or issue, untrusted. */
  context: z.string().max(50_000).optional(),
  origin: Origin,
  /** The delivery's idempotency key (Idempotency-Key, Slack event_id, Linear-Delivery, X-GitHub-Delivery). */
  deliveryId: z.string().min(1).max(200).optional(),
  /** Where to answer: the place the request came from (none for the API and the CLI). */
  replyTo: ReplyAddress.optional(),
  /** A model of `patchbay.yml`'s `models:` by name; absent: the default model. */
  model: z.string().min(1).max(200).optional(),
  /**
   * A follow-up that starts the agent afresh (from the branch and the thread) instead of continuing
   * the transcript of the conversation's last run.
   */
  fresh: z.boolean().optional(),
  /** Limits for this task instead of `budget` in patchbay.yml, each one that is set (a schedule's `budget`). */
  budget: z
    .object({
      steps: z.number().int().positive().optional(),
      minutes: z.number().positive().optional(),
      usd: z.number().positive().optional(),
    })
    .optional(),
});
export type TaskRequest = z.infer<typeof TaskRequest>;
