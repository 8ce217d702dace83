import { z } from 'zod';
import { ReplyAddress } from './reply-address.js';
import { PullRequestRef } from './task.js';

/** One Slack thread, Linear issue, pull request or API conversation id: one branch, at most one PR. */
export const ConversationState = z.object({
  id: z.string(),
  repo: z.string(),
  branch: z.string(),
  base: z.string().optional(),
  pullRequest: PullRequestRef.optional(),
  lastTaskId: z.string().optional(),
  /** The task that asked a question and waits for the next message of this conversation. */
  waitingTaskId: z.string().optional(),
  /** Where the conversation began (a Slack thread, a Linear issue): told about follow-ups from elsewhere. */
  beganIn: ReplyAddress.optional(),
});
export type ConversationState = z.infer<typeof ConversationState>;

/** Patchbay pushes only branches under this prefix; a pull request is Patchbay's only from one of them. */
export const PATCHBAY_BRANCH_PREFIX = 'patchbay/';

/** A branch under `patchbay/` with a name after the prefix. */
export function isPatchbayBranch(ref: string): boolean {
  return ref.startsWith(PATCHBAY_BRANCH_PREFIX) && ref.length > PATCHBAY_BRANCH_PREFIX.length;
}
