import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { git } from './git-fixtures.js';
import { notFound, repoOf } from './github-stand-in-replies.js';
import type { HttpStandIn, RecordedCall, StandInHandler, StandInReply } from './http-stand-in.js';

/** An annotation of a check run, as `GET …/check-runs/{id}/annotations` answers it. */
export interface StandInAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: 'notice' | 'warning' | 'failure';
  title?: string;
  message: string;
}

/** A check run on a commit; from GitHub Actions (`app: github-actions`) it is also a job with steps and a log. */
export interface StandInCheckRun {
  id: number;
  name: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: 'success' | 'failure' | 'neutral' | 'cancelled' | 'skipped' | 'timed_out' | null;
  /** The App that made it: `github-actions`, or another App's slug (a bot's check). */
  app: string;
  output?: { title?: string; summary?: string; text?: string };
  annotations?: StandInAnnotation[];
  job?: {
    runId: number;
    steps: Array<{ name: string; number: number; conclusion: string | null }>;
    log: string;
  };
}

export interface StandInStatus {
  context: string;
  state: 'pending' | 'success' | 'failure' | 'error';
  description?: string;
}

export interface StandInWorkflowRun {
  id: number;
  name: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: string | null;
}

/**
 * The checks side of the GitHub stand-in, per commit: check runs (with output, annotations, and for
 * Actions the job's steps and its log behind a redirect, as GitHub serves it), commit statuses (the
 * combined status), workflow runs; and commits as the git remote holds them (message, parents).
 */
export function createChecksState(url: string, gitRoot: string | undefined) {
  const runs = new Map<string, StandInCheckRun[]>();
  const statuses = new Map<string, StandInStatus[]>();
  const workflowRuns = new Map<string, StandInWorkflowRun[]>();
  let nextId = 9_000_000_001;
  const key = (repo: string, sha: string) => `${repo.toLowerCase()}@${sha}`;
  const allRuns = () => [...runs.values()].flat();
  const listOf = <T>(map: Map<string, T[]>, k: string) => map.get(k) ?? map.set(k, []).get(k) ?? [];

  /** `git` in the repository's bare directory on the remote, or undefined when there is none. */
  async function inRepo(repo: string, args: string[]): Promise<string | undefined> {
    const dir = gitRoot ? join(gitRoot, `${repo}.git`) : undefined;
    if (!dir || !existsSync(dir)) return undefined;
    return git(['--git-dir', dir, ...args]).catch(() => undefined);
  }

  async function getCommit(c: RecordedCall): Promise<StandInReply> {
    const ref = c.params.ref ?? '';
    const out = await inRepo(repoOf(c), [
      'log',
      '-1',
      '--format=%H%x00%P%x00%an%x00%ae%x00%cn%x00%ce%x00%B',
      ref,
    ]);
    if (!out) return notFound();
    const [sha = '', parents = '', an, ae, cn, ce, ...message] = out.split('\0');
    return {
      json: {
        sha,
        html_url: `${url}/html/${repoOf(c)}/commit/${sha}`,
        commit: {
          message: message.join('\0').replace(/\n$/, ''),
          author: { name: an, email: ae },
          committer: { name: cn, email: ce },
        },
        parents: parents
          .split(' ')
          .filter(Boolean)
          .map((p) => ({ sha: p })),
      },
    };
  }

  function checkRunJson(repo: string, sha: string, run: StandInCheckRun) {
    return {
      id: run.id,
      name: run.name,
      head_sha: sha,
      status: run.status,
      conclusion: run.conclusion,
      html_url: `${url}/html/${repo}/runs/${run.id}`,
      details_url: `${url}/html/${repo}/actions/runs/${run.job?.runId ?? 0}/job/${run.id}`,
      output: {
        title: run.output?.title ?? null,
        summary: run.output?.summary ?? null,
        text: run.output?.text ?? null,
        annotations_count: run.annotations?.length ?? 0,
      },
      app: { slug: run.app, name: run.app },
    };
  }

  function listCheckRuns(c: RecordedCall): StandInReply {
    const sha = c.params.ref ?? '';
    const all = runs.get(key(repoOf(c), sha)) ?? [];
    const perPage = Number(c.query.get('per_page') ?? 30);
    const page = Number(c.query.get('page') ?? 1);
    const shown = all.slice((page - 1) * perPage, page * perPage);
    return {
      json: { total_count: all.length, check_runs: shown.map((r) => checkRunJson(repoOf(c), sha, r)) },
    };
  }

  function combinedStatus(c: RecordedCall): StandInReply {
    const sha = c.params.ref ?? '';
    const all = statuses.get(key(repoOf(c), sha)) ?? [];
    const state = all.some((s) => s.state === 'failure' || s.state === 'error')
      ? 'failure'
      : all.some((s) => s.state === 'pending') || all.length === 0
        ? 'pending'
        : 'success';
    return {
      json: {
        state,
        sha,
        total_count: all.length,
        statuses: all.map((s, i) => ({ id: i + 1, target_url: null, description: null, ...s })),
      },
    };
  }

  function listWorkflowRuns(c: RecordedCall): StandInReply {
    const sha = c.query.get('head_sha') ?? '';
    const all = workflowRuns.get(key(repoOf(c), sha)) ?? [];
    return {
      json: {
        total_count: all.length,
        workflow_runs: all.map((r) => ({
          ...r,
          head_sha: sha,
          html_url: `${url}/html/${repoOf(c)}/actions/runs/${r.id}`,
        })),
      },
    };
  }

  const jobOf = (c: RecordedCall) => allRuns().find((r) => r.job && String(r.id) === c.params.id);

  function getJob(c: RecordedCall): StandInReply {
    const run = jobOf(c);
    if (!run?.job) return notFound();
    return {
      json: {
        id: run.id,
        run_id: run.job.runId,
        name: run.name,
        status: run.status,
        conclusion: run.conclusion,
        steps: run.job.steps.map((s) => ({ ...s, status: 'completed' })),
      },
    };
  }

  return {
    /** A check run on `sha`; its id is its job id too (as with GitHub Actions). */
    addCheckRun(repo: string, sha: string, run: Omit<StandInCheckRun, 'id'>): StandInCheckRun {
      const added = { ...run, id: nextId++ };
      listOf(runs, key(repo, sha)).push(added);
      return added;
    },
    setStatus(repo: string, sha: string, status: StandInStatus): void {
      const list = listOf(statuses, key(repo, sha));
      const at = list.findIndex((s) => s.context === status.context);
      if (at >= 0) list[at] = status;
      else list.push(status);
    },
    addWorkflowRun(repo: string, sha: string, run: Omit<StandInWorkflowRun, 'id'>): StandInWorkflowRun {
      const added = { ...run, id: nextId++ };
      listOf(workflowRuns, key(repo, sha)).push(added);
      return added;
    },
    /** The head commit of a branch on the remote (for pull requests' `head.sha`). */
    headSha: (repo: string, ref: string) =>
      inRepo(repo, ['rev-parse', '--verify', '--quiet', `refs/heads/${ref}`]),
    register(http: HttpStandIn, guard: (h: StandInHandler) => StandInHandler) {
      http.on('GET /repos/:owner/:repo/commits/:ref', guard(getCommit));
      http.on('GET /repos/:owner/:repo/commits/:ref/check-runs', guard(listCheckRuns));
      http.on('GET /repos/:owner/:repo/commits/:ref/status', guard(combinedStatus));
      http.on('GET /repos/:owner/:repo/actions/runs', guard(listWorkflowRuns));
      http.on(
        'GET /repos/:owner/:repo/check-runs/:id/annotations',
        guard((c) => {
          const run = allRuns().find((r) => String(r.id) === c.params.id);
          return run ? { json: run.annotations ?? [] } : notFound();
        }),
      );
      http.on('GET /repos/:owner/:repo/actions/jobs/:id', guard(getJob));
      // GitHub answers with a redirect to a short-lived signed URL of the plain-text log.
      http.on(
        'GET /repos/:owner/:repo/actions/jobs/:id/logs',
        guard((c) =>
          jobOf(c) ? { status: 302, headers: { location: `${url}/job-logs/${c.params.id}` } } : notFound(),
        ),
      );
      http.on('GET /job-logs/:id', (c) => {
        const run = jobOf(c);
        return run?.job
          ? { text: run.job.log, headers: { 'content-type': 'text/plain; charset=utf-8' } }
          : notFound();
      });
    },
  };
}
export type ChecksState = ReturnType<typeof createChecksState>;
