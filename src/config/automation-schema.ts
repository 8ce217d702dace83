import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { RepoName } from '../domain/task-request.js';

/**
 * A schedule's or a hook's name: it becomes part of Redis keys, BullMQ job ids (no `:`), a branch key
 * and, for a hook, its URL and the environment variable of its secret.
 */
const AutomationName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,39}$/,
    'lowercase letters, digits and "-", at most 40, starting with a letter or digit',
  );

/** Per repository: fix the failing checks of Patchbay's own commits, at most `max_rounds` rounds in a row. */
export const AutofixConfig = z.union([
  z.literal(false),
  z.object({ max_rounds: z.number().int().min(1).max(10).default(2) }).strict(),
]);
export type AutofixConfig = z.infer<typeof AutofixConfig>;

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Whether cron-parser, which BullMQ's job schedulers use, reads the expression. */
function isCron(expression: string): boolean {
  try {
    CronExpressionParser.parse(expression, { tz: 'UTC' });
    return true;
  } catch {
    return false;
  }
}

const Budget = z
  .object({
    steps: z.number().int().positive().optional(),
    minutes: z.number().positive().optional(),
    usd: z.number().positive().optional(),
  })
  .strict();

/** A task started on a cron schedule: one per tick, one conversation (and open PR) per schedule. */
export const ScheduleConfig = z
  .object({
    name: AutomationName,
    cron: z.string().trim().min(1).refine(isCron, 'not a cron expression (e.g. "0 6 * * 1")'),
    timezone: z.string().default('UTC').refine(isTimeZone, 'not an IANA time zone (e.g. "Europe/Berlin")'),
    repository: RepoName,
    instruction: z.string().trim().min(1, 'instruction is empty').max(20_000),
    /** A Slack channel id: each run posts a new thread there and reports in it. */
    slack_channel: z
      .string()
      .regex(/^[CGD][A-Z0-9]{2,}$/, 'a Slack channel id such as C0123ABCD')
      .optional(),
    model: z.string().min(1).max(200).optional(),
    budget: Budget.optional(),
  })
  .strict();
export type ScheduleConfig = z.infer<typeof ScheduleConfig>;

/**
 * A task started by a signed POST to `/api/hooks/<name>`. The instruction is fixed; `fields` name what
 * of the JSON body goes along, as untrusted context, through `{{path.to.field}}` placeholders.
 */
export const HookConfig = z
  .object({
    name: AutomationName,
    repository: RepoName,
    instruction: z.string().trim().min(1, 'instruction is empty').max(20_000),
    fields: z
      .record(z.string().regex(/^[A-Za-z0-9_ -]{1,40}$/, 'a short label'), z.string().max(2_000))
      .default({}),
    per_hour: z.number().int().min(1).max(10_000).default(20),
  })
  .strict();
export type HookConfig = z.infer<typeof HookConfig>;

/** `PATCHBAY_HOOK_SECRET_<NAME>`: the hook's name upper-cased, `-` as `_`. */
export function hookSecretVariable(name: string): string {
  return `PATCHBAY_HOOK_SECRET_${name.toUpperCase().replaceAll('-', '_')}`;
}

/** The secret of a hook, from `PATCHBAY_HOOK_SECRET_<NAME>`; undefined while it is not set. */
export function hookSecretOf(env: { hookSecrets: Record<string, string> }, name: string): string | undefined {
  return env.hookSecrets[name.toUpperCase().replaceAll('-', '_')];
}
