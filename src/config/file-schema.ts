import { z } from 'zod';
import { REASONING_EFFORTS } from '../domain/model-spec.js';
import { RepoName } from '../domain/task-request.js';

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

/**
 * One model tasks may run on. Only `name` is required: a known model gets its context window from
 * the table in domain/model-spec.ts, any other 32,768 tokens unless `context_window` says more.
 */
export const ModelEntry = z
  .object({
    name: z.string().trim().min(1).max(200),
    context_window: z.number().int().min(4_096).optional(),
    price: Price.optional(),
    reasoning_effort: z.enum(REASONING_EFFORTS).optional(),
    max_output_tokens: z.number().int().positive().optional(),
  })
  .strict();
export type ModelEntry = z.infer<typeof ModelEntry>;

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
    /** The models a request may choose by name; the default is PATCHBAY_MODEL, else the first. */
    models: z.array(ModelEntry).default([]),
    /** The older way to price a model (USD per million tokens by name); `models[].price` wins. */
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
  })
  .strict();
export type FileConfig = z.infer<typeof FileConfig>;
