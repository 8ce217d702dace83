import { z } from 'zod';
import { PatchbayError } from '../../domain/errors.js';
import { clientFor, type GitHubClient, type GitHubClients } from './create-octokit.js';
import { isRateLimited, splitRepo, statusOf, toGitHubError } from './github-error.js';

/** The App permission a read needs; a 403 for want of it is said once, not thrown. */
export type CheckPermission = 'checks' | 'statuses' | 'actions';

/** GitHub refused a read for want of `permission` (`Resource not accessible by integration`). */
export class MissingPermission extends Error {
  constructor(readonly permission: CheckPermission) {
    super(`missing ${permission}: read`);
  }
}

const CheckRun = z.object({
  id: z.number().int(),
  name: z.string(),
  status: z.string(),
  conclusion: z.string().nullable(),
  html_url: z.string().nullable().optional(),
  details_url: z.string().nullable().optional(),
  app: z.object({ slug: z.string() }).nullable().optional(),
  output: z
    .object({
      title: z.string().nullable().optional(),
      summary: z.string().nullable().optional(),
      text: z.string().nullable().optional(),
      annotations_count: z.number().int().optional(),
    })
    .optional(),
});
export type CheckRun = z.infer<typeof CheckRun>;

const CommitStatus = z.object({
  context: z.string(),
  state: z.string(),
  description: z.string().nullable().optional(),
  target_url: z.string().nullable().optional(),
});
export type CommitStatus = z.infer<typeof CommitStatus>;

const WorkflowRun = z.object({
  id: z.number().int(),
  name: z.string().nullable().optional(),
  status: z.string().nullable(),
  conclusion: z.string().nullable(),
});
export type WorkflowRun = z.infer<typeof WorkflowRun>;

const Annotation = z.object({
  path: z.string(),
  start_line: z.number().int().nullable().optional(),
  annotation_level: z.string().nullable().optional(),
  title: z.string().nullable().optional(),
  message: z.string(),
});
export type Annotation = z.infer<typeof Annotation>;

const Job = z.object({
  steps: z
    .array(z.object({ name: z.string(), number: z.number().int(), conclusion: z.string().nullable() }))
    .default([]),
});

const Commit = z.object({
  sha: z.string(),
  commit: z.object({ message: z.string() }),
  parents: z.array(z.object({ sha: z.string() })),
});

/** A check run, workflow run or status list is read up to this many entries. */
const MAX_ENTRIES = 300;
/** A job log is read whole by the API; only its end matters, and only this much of it is kept. */
const MAX_LOG_CHARS = 512 * 1024;

/**
 * The reads the autofix makes about a commit: check runs (with their annotations, and for GitHub
 * Actions the job's steps and log), the combined status, workflow runs, the commit itself. A 403 for
 * want of the App permission becomes `MissingPermission`.
 */
export function createCheckApi({ clients }: { clients: GitHubClients }) {
  async function call<T>(
    repo: string,
    permission: CheckPermission | undefined,
    action: string,
    run: (o: GitHubClient) => Promise<T>,
  ): Promise<T> {
    try {
      return await run(await clientFor(clients, repo));
    } catch (err) {
      if (permission && statusOf(err) === 403 && !isRateLimited(err)) throw new MissingPermission(permission);
      throw toGitHubError(err, action);
    }
  }

  async function checkRuns(repo: string, sha: string): Promise<CheckRun[]> {
    const all: CheckRun[] = [];
    for (let page = 1; all.length < MAX_ENTRIES; page++) {
      const { data } = await call(repo, 'checks', `list the check runs of ${sha}`, (o) =>
        o.rest.checks.listForRef({ ...splitRepo(repo), ref: sha, filter: 'latest', per_page: 100, page }),
      );
      const runs = z.array(CheckRun).parse(data.check_runs);
      all.push(...runs);
      if (runs.length < 100) break;
    }
    return all;
  }

  async function statuses(repo: string, sha: string): Promise<CommitStatus[]> {
    const { data } = await call(repo, 'statuses', `read the status of ${sha}`, (o) =>
      o.rest.repos.getCombinedStatusForRef({ ...splitRepo(repo), ref: sha, per_page: 100 }),
    );
    return z.array(CommitStatus).parse(data.statuses);
  }

  async function workflowRuns(repo: string, sha: string): Promise<WorkflowRun[]> {
    const { data } = await call(repo, 'actions', `list the workflow runs of ${sha}`, (o) =>
      o.rest.actions.listWorkflowRunsForRepo({ ...splitRepo(repo), head_sha: sha, per_page: 100 }),
    );
    return z.array(WorkflowRun).parse(data.workflow_runs);
  }

  async function annotations(repo: string, checkRunId: number): Promise<Annotation[]> {
    const { data } = await call(repo, 'checks', `list the annotations of check run ${checkRunId}`, (o) =>
      o.rest.checks.listAnnotations({ ...splitRepo(repo), check_run_id: checkRunId, per_page: 50 }),
    );
    return z.array(Annotation).parse(data);
  }

  /** An Actions job's steps and the end of its log (its check run id is its job id). */
  async function job(
    repo: string,
    jobId: number,
  ): Promise<{ steps: z.infer<typeof Job>['steps']; log: string }> {
    const { data } = await call(repo, 'actions', `read job ${jobId}`, (o) =>
      o.rest.actions.getJobForWorkflowRun({ ...splitRepo(repo), job_id: jobId }),
    );
    // GitHub answers with a redirect to the log's short-lived URL; fetch follows it.
    const log = await call(repo, 'actions', `read the log of job ${jobId}`, (o) =>
      o.rest.actions.downloadJobLogsForWorkflowRun({ ...splitRepo(repo), job_id: jobId }),
    );
    return { steps: Job.parse(data).steps, log: toText(log.data).slice(-MAX_LOG_CHARS) };
  }

  async function commit(repo: string, sha: string): Promise<{ message: string; parents: string[] }> {
    const { data } = await call(repo, undefined, `read commit ${sha}`, (o) =>
      o.rest.repos.getCommit({ ...splitRepo(repo), ref: sha, per_page: 1 }),
    );
    const parsed = Commit.safeParse(data);
    if (!parsed.success) {
      throw new PatchbayError('github_error', `GitHub answered an unexpected shape for commit ${sha}`);
    }
    return { message: parsed.data.commit.message, parents: parsed.data.parents.map((p) => p.sha) };
  }

  return { checkRuns, statuses, workflowRuns, annotations, job, commit };
}
export type CheckApi = ReturnType<typeof createCheckApi>;

/** Octokit hands a plain-text answer over as a string, anything else as an ArrayBuffer. */
function toText(data: unknown): string {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new TextDecoder().decode(data);
  return '';
}
