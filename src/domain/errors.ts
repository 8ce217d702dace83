/**
 * Every failure Patchbay reports carries a code. `permanent` decides retries: the worker alone turns a
 * permanent error into BullMQ's UnrecoverableError and tells the requester once; anything else is
 * retried with backoff.
 */
export type ErrorCode =
  | 'invalid_request'
  | 'invalid_config'
  | 'repo_not_allowed'
  | 'repo_not_found'
  | 'base_not_found'
  | 'budget_exhausted'
  | 'model_error'
  | 'model_malformed'
  | 'push_rejected'
  | 'workflow_change_refused'
  | 'github_error'
  | 'cancelled'
  | 'sandbox_unavailable'
  | 'setup_failed'
  | 'limit_exceeded'
  | 'task_not_found'
  | 'interrupted'
  | 'internal';

const PERMANENT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'invalid_request',
  'invalid_config',
  'repo_not_allowed',
  'repo_not_found',
  'base_not_found',
  'budget_exhausted',
  'model_malformed',
  'workflow_change_refused',
  'cancelled',
  'sandbox_unavailable',
  'setup_failed',
  'limit_exceeded',
  'task_not_found',
]);

export class PatchbayError extends Error {
  readonly code: ErrorCode;
  readonly permanent: boolean;
  /** A sentence for the person who asked: what went wrong and what to do. */
  readonly hint: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { hint?: string; cause?: unknown; permanent?: boolean } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'PatchbayError';
    this.code = code;
    this.permanent = opts.permanent ?? PERMANENT.has(code);
    this.hint = opts.hint;
  }
}

export function isPermanent(err: unknown): boolean {
  return err instanceof PatchbayError && err.permanent;
}

export function toPatchbayError(err: unknown): PatchbayError {
  if (err instanceof PatchbayError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new PatchbayError('internal', message, { cause: err });
}
