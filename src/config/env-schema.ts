import { z } from 'zod';

const optionalSecret = z.string().min(1).optional();
const url = (fallback: string) => z.string().url('must be a URL such as http://host:port').default(fallback);

/** Process environment, validated at start-up. Names are the contract in DESIGN.md. */
export const EnvConfig = z.object({
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
    .default('redis://127.0.0.1:6379'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  PATCHBAY_CONFIG: z.string().min(1).default('patchbay.yml'),
  PATCHBAY_DATA_DIR: z.string().min(1).optional(),
  /** The default model; else the first of `models:` in patchbay.yml, else gpt-5-codex. */
  PATCHBAY_MODEL: z.string().min(1).optional(),
  PATCHBAY_API_TOKEN: z
    .string()
    .min(16, 'must be at least 16 characters (use `openssl rand -hex 32`)')
    .optional(),
  /** Bearer token for `GET /metrics` (Prometheus); without it the route does not exist. */
  PATCHBAY_METRICS_TOKEN: z
    .string()
    .min(16, 'must be at least 16 characters (use `openssl rand -hex 32`)')
    .optional(),
  PATCHBAY_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  /**
   * Least time between two content-creating GitHub writes of one App installation (or one token),
   * kept by all processes together through Redis (ms; 0 turns the pace off).
   */
  PATCHBAY_GITHUB_WRITE_PACE_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  /**
   * Most content-creating GitHub writes of one App installation (or one token) started in any hour,
   * all processes together (GitHub's documented secondary limit is 500; 0 turns the cap off, and so
   * does a write pace of 0).
   */
  PATCHBAY_GITHUB_WRITES_PER_HOUR: z.coerce.number().int().min(0).max(100_000).default(500),
  PATCHBAY_SANDBOX: z.enum(['bwrap', 'none']).default('bwrap'),
  /**
   * The host's own upstream proxy (`http://[user:password@]host:port`): Patchbay's filtering proxy for
   * the agent's commands chains through it. Its credentials stay on the host.
   */
  HTTPS_PROXY: z.string().min(1).optional(),
  HTTP_PROXY: z.string().min(1).optional(),
  /** `1`: a worker refuses to start without cgroups to bound each task (docs/limits.md). */
  PATCHBAY_REQUIRE_LIMITS: z
    .enum(['0', '1', 'true', 'false'], 'must be 1 or 0')
    .default('0')
    .transform((v) => v === '1' || v === 'true'),
  /** How long a dead worker can hold a job or a conversation before another takes over (ms). */
  PATCHBAY_LOCK_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  /** Several Patchbay deployments may share one Redis: each with its own queue name and key prefix. */
  PATCHBAY_QUEUE: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,100}$/, 'letters, digits, "_" and "-" only')
    .default('patchbay-tasks'),
  /** `1`: REDIS_URL is a node of a Redis Cluster (keys and BullMQ queues under hash tags). */
  PATCHBAY_REDIS_CLUSTER: z
    .enum(['0', '1', 'true', 'false'])
    .default('0')
    .transform((v) => v === '1' || v === 'true'),
  PATCHBAY_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_:-]{1,100}$/, 'letters, digits, "_", ":" and "-" only')
    .default('patchbay:'),
  /** Where browsers reach Patchbay (OAuth callbacks); else taken from the request's host. */
  PATCHBAY_PUBLIC_URL: z.string().url('must be a URL such as https://patchbay.example.com').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SLACK_BOT_TOKEN: optionalSecret,
  SLACK_SIGNING_SECRET: optionalSecret,
  SLACK_APP_TOKEN: optionalSecret,
  SLACK_API_URL: url('https://slack.com/api/'),
  LINEAR_WEBHOOK_SECRET: optionalSecret,
  LINEAR_CLIENT_ID: optionalSecret,
  LINEAR_CLIENT_SECRET: optionalSecret,
  LINEAR_ACCESS_TOKEN: optionalSecret,
  LINEAR_API_KEY: optionalSecret,
  LINEAR_API_URL: url('https://api.linear.app/graphql'),
  GITHUB_TOKEN: optionalSecret,
  GITHUB_APP_ID: optionalSecret,
  GITHUB_APP_PRIVATE_KEY: optionalSecret,
  GITHUB_WEBHOOK_SECRET: optionalSecret,
  /** Sign-in with GitHub: the GitHub App's own client id and secret (user authorization), or an OAuth app's. */
  GITHUB_CLIENT_ID: optionalSecret,
  GITHUB_CLIENT_SECRET: optionalSecret,
  GITHUB_API_URL: url('https://api.github.com'),
  GITHUB_SERVER_URL: url('https://github.com'),
  OPENAI_API_KEY: optionalSecret,
  OPENAI_BASE_URL: z.string().url('must be a URL such as http://host:port/v1').optional(),
  /**
   * Not a variable of its own: every `PATCHBAY_HOOK_SECRET_<NAME>`, by `<NAME>` (parseEnv gathers
   * them). A hook of `patchbay.yml` is on only with its secret.
   */
  hookSecrets: z.record(z.string(), z.string()).default({}),
});
export type EnvConfig = z.infer<typeof EnvConfig>;
