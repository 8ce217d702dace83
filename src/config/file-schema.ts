import { z } from 'zod';
import { REASONING_EFFORTS } from '../domain/model-spec.js';
import { RepoName } from '../domain/task-request.js';
import { AutofixConfig, HookConfig, ScheduleConfig } from './automation-schema.js';
import { checkNetworkKeys, NetworkKeys } from './network-schema.js';

const command = z.string().trim().min(1, 'a command may not be empty');

const MIB_PER_TIB = 1024 * 1024;
const DISK_MAX_MB = 64 * MIB_PER_TIB;
/**
 * The limits one task runs under, for everything it runs in the sandbox together (setup, the agent's
 * commands, checks). Sizes in MiB. The bounds keep a typo from meaning "no limit" or "nothing runs".
 */
const LIMIT_KEYS = {
  setup_minutes: z.number().positive(),
  check_minutes: z.number().positive(),
  command_seconds: z.number().int().positive(),
  /** Memory of all the task's processes together, swap included. */
  memory_mb: z.number().int().min(64, 'at least 64 (MiB)').max(MIB_PER_TIB),
  /** Processes and threads alive at once. */
  processes: z.number().int().min(16, 'at least 16').max(4_194_304),
  /** What the task keeps in its clone and its scratch space (/tmp, HOME, /dev/shm) together. */
  disk_mb: z.number().int().min(16, 'at least 16 (MiB)').max(DISK_MAX_MB),
  /** The size of /tmp (and of HOME and /dev/shm, each): in-memory file systems. */
  tmp_mb: z.number().int().min(1, 'at least 1 (MiB)').max(MIB_PER_TIB),
  /** A relative share of CPU against the other tasks, as cgroup v2's cpu.weight (1–10000, default 100). */
  cpu_weight: z.number().int().min(1, 'from 1').max(10_000, 'to 10000'),
};

export const LIMIT_DEFAULTS = {
  setup_minutes: 10,
  check_minutes: 10,
  command_seconds: 600,
  memory_mb: 4096,
  processes: 1024,
  disk_mb: 10240,
  tmp_mb: 1024,
  cpu_weight: 100,
  timeline_kb: 2048,
} as const;

export const LimitsConfig = z
  .object({
    setup_minutes: LIMIT_KEYS.setup_minutes.default(LIMIT_DEFAULTS.setup_minutes),
    check_minutes: LIMIT_KEYS.check_minutes.default(LIMIT_DEFAULTS.check_minutes),
    command_seconds: LIMIT_KEYS.command_seconds.default(LIMIT_DEFAULTS.command_seconds),
    memory_mb: LIMIT_KEYS.memory_mb.default(LIMIT_DEFAULTS.memory_mb),
    processes: LIMIT_KEYS.processes.default(LIMIT_DEFAULTS.processes),
    disk_mb: LIMIT_KEYS.disk_mb.default(LIMIT_DEFAULTS.disk_mb),
    tmp_mb: LIMIT_KEYS.tmp_mb.default(LIMIT_DEFAULTS.tmp_mb),
    cpu_weight: LIMIT_KEYS.cpu_weight.default(LIMIT_DEFAULTS.cpu_weight),
    /** Bytes of a task's timeline (and of its stored diff) in KiB; older tool outputs are shortened first. Top level only. */
    timeline_kb: z.number().int().min(64).default(LIMIT_DEFAULTS.timeline_kb),
  })
  .strict();
export type LimitsConfig = z.infer<typeof LimitsConfig>;

/** A repository's own `limits:`: any of the top-level keys, each replacing the top-level value. */
export const RepositoryLimits = z.object(LIMIT_KEYS).partial().strict();
export type RepositoryLimits = z.infer<typeof RepositoryLimits>;

const ENV_NAME = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name (letters, digits, _)');

/** Prepared environments (README, *Prepared environments*): a repository's keys, kept in a block of their own. */
const ENVIRONMENT_KEYS = {
  /** Runs instead of setup in a prepared entry brought to a newer commit with the same setup key. */
  maintenance: z.array(command).default([]),
  /** Globs of the files setup depends on; absent = the usual lockfiles and manifests. */
  setup_inputs: z.array(z.string().trim().min(1)).min(1).optional(),
  /** Host environment variables handed to setup and maintenance only (private registry tokens). */
  setup_env: z.array(ENV_NAME).default([]),
  /** Prepared entries kept per worker for this repository; 0 turns the pool off for it. */
  pool_size: z.number().int().min(0).max(16).default(2),
};

export const RepositoryConfig = z
  .object({
    name: RepoName,
    base: z.string().min(1).optional(),
    setup: z.array(command).default([]),
    check: z.array(command).default([]),
    /** Changes under .github/workflows/ run with the repository's secrets once pushed: off unless set. */
    allow_workflows: z.boolean().default(false),
    draft: z.boolean().default(true),
    /** Replaces the top-level `limits` keys it names, for this repository's tasks. */
    limits: RepositoryLimits.optional(),
    /** Failing checks on Patchbay's own commits start a follow-up that fixes them; `false` turns it off. */
    autofix: AutofixConfig.default({ max_rounds: 2 }),
    /** The agent's network: `off`, or `allowlist` of `domains` (and `preset`) through Patchbay's proxy. */
    ...NetworkKeys,
    ...ENVIRONMENT_KEYS,
  })
  .strict()
  .superRefine(checkNetworkKeys);
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
    limits: LimitsConfig.default(LIMIT_DEFAULTS),
    retention_days: z.number().int().positive().default(30),
    schedules: z.array(ScheduleConfig).default([]),
    hooks: z.array(HookConfig).default([]),
    /** Package caches of all repositories together on one worker, in MiB (oldest dropped first). */
    cache_mb: z.number().int().min(64, 'at least 64 (MiB)').default(10_240),
  })
  .strict();
export type FileConfig = z.infer<typeof FileConfig>;
