import { z } from 'zod';
import { RepoName } from '../domain/task-request.js';
import { AutofixConfig, HookConfig, ScheduleConfig } from './automation-schema.js';

const command = z.string().trim().min(1, 'a command may not be empty');

export const RepositoryConfig = z
  .object({
    name: RepoName,
    base: z.string().min(1).optional(),
    setup: z.array(command).default([]),
    check: z.array(command).default([]),
    /** Changes under .github/workflows/ run with the repository's secrets once pushed: off unless set. */
    allow_workflows: z.boolean().default(false),
    draft: z.boolean().default(true),
    /** Failing checks on Patchbay's own commits start a follow-up that fixes them; `false` turns it off. */
    autofix: AutofixConfig.default({ max_rounds: 2 }),
  })
  .strict();
export type RepositoryConfig = z.infer<typeof RepositoryConfig>;

const Price = z
  .object({
    input: z.number().nonnegative(),
    cached_input: z.number().nonnegative().optional(),
    output: z.number().nonnegative(),
  })
  .strict();

export const FileConfig = z
  .object({
    repositories: z.array(RepositoryConfig).min(1, 'list at least one repository Patchbay may touch'),
    defaults: z.object({ repository: RepoName.optional() }).strict().default({}),
    slack: z
      .object({
        channels: z.record(z.string(), RepoName).default({}),
        users: z.array(z.string()).optional(),
        /** Optional allowlist of channel ids; absent = every channel the app was invited to. */
        allowed_channels: z.array(z.string()).optional(),
        repository: RepoName.optional(),
      })
      .strict()
      .default({ channels: {} }),
    linear: z
      .object({
        teams: z.record(z.string(), RepoName).default({}),
        projects: z.record(z.string(), RepoName).default({}),
      })
      .strict()
      .default({ teams: {}, projects: {} }),
    budget: z
      .object({
        steps: z.number().int().positive().default(100),
        minutes: z.number().positive().default(30),
        usd: z.number().positive().default(3),
      })
      .strict()
      .default({ steps: 100, minutes: 30, usd: 3 }),
    pricing: z.record(z.string(), Price).default({}),
    limits: z
      .object({
        setup_minutes: z.number().positive().default(10),
        check_minutes: z.number().positive().default(10),
        command_seconds: z.number().int().positive().default(600),
        /** Bytes of a task's timeline (and of its stored diff) in KiB; older tool outputs are shortened first. */
        timeline_kb: z.number().int().min(64).default(2048),
      })
      .strict()
      .default({ setup_minutes: 10, check_minutes: 10, command_seconds: 600, timeline_kb: 2048 }),
    retention_days: z.number().int().positive().default(30),
    schedules: z.array(ScheduleConfig).default([]),
    hooks: z.array(HookConfig).default([]),
  })
  .strict();
export type FileConfig = z.infer<typeof FileConfig>;
