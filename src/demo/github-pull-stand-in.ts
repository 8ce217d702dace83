import { notFound, repoOf, unprocessable } from './github-stand-in-replies.js';
import type { RecordedCall, StandInReply } from './http-stand-in.js';

export interface StandInRepo {
  /** `owner/name` */
  name: string;
  defaultBranch?: string;
  private?: boolean;
  /** Answer a draft PR with GitHub's 422, as for private repositories on plans without drafts. */
  draftsUnsupported?: boolean;
}

export interface StandInPull {
  repo: string;
  number: number;
  /** `repo` is the head repository's `owner/name` when it differs (a fork). */
  head: { ref: string; label: string; repo?: string };
  base: { ref: string };
  title: string;
  body: string;
  draft: boolean;
  state: 'open' | 'closed';
  /** Closed by a merge (a test sets it with `state: 'closed'`). */
  merged?: boolean;
  html_url: string;
  user: { login: string };
}

export interface StandInComment {
  repo: string;
  issueNumber: number;
  id: number;
  body: string;
  user: { login: string };
  /** ms since the epoch */
  at: number;
}

/** Repositories, pull requests and issue comments: what the stand-in holds and how it answers. */
export function createPullState(url: string, login: string, repos: StandInRepo[]) {
  const pulls: StandInPull[] = [];
  const comments: StandInComment[] = [];
  let nextId = 1;
  const nextNumber = new Map<string, number>();
  const find = (c: RecordedCall) => repos.find((r) => r.name.toLowerCase() === repoOf(c).toLowerCase());
  const findPull = (c: RecordedCall, repo: StandInRepo) =>
    pulls.find((p) => p.repo === repo.name && p.number === Number(c.params.number));

  function getRepo(c: RecordedCall): StandInReply {
    const repo = find(c);
    if (!repo) return notFound();
    const [owner = '', name = ''] = repo.name.split('/');
    return {
      json: {
        id: repos.indexOf(repo) + 1,
        name,
        full_name: repo.name,
        owner: { login: owner },
        private: repo.private ?? false,
        visibility: repo.private ? 'private' : 'public',
        default_branch: repo.defaultBranch ?? 'main',
        html_url: `${url}/html/${repo.name}`,
        permissions: { admin: false, push: true, pull: true },
      },
    };
  }

  function listPulls(c: RecordedCall): StandInReply {
    const repo = find(c);
    if (!repo) return notFound();
    const wanted = c.query.get('state') ?? 'open';
    const head = c.query.get('head');
    const base = c.query.get('base');
    const perPage = Number(c.query.get('per_page') ?? 30);
    const found = pulls
      .filter((p) => p.repo === repo.name && (wanted === 'all' || p.state === wanted))
      .filter((p) => (head ? p.head.label === head : true) && (base ? p.base.ref === base : true))
      .reverse()
      .slice(0, perPage);
    return { json: found.map(toJson) };
  }

  function createPull(c: RecordedCall): StandInReply {
    const repo = find(c);
    if (!repo) return notFound();
    const input = (c.body ?? {}) as Partial<Record<'head' | 'base' | 'title' | 'body', string>> & {
      draft?: boolean;
    };
    if (!input.head || !input.base || !input.title) {
      return unprocessable('Validation Failed', [{ resource: 'PullRequest', code: 'missing_field' }]);
    }
    if (input.draft && repo.draftsUnsupported) {
      return unprocessable('Draft pull requests are not supported in this repository.');
    }
    const owner = repo.name.split('/')[0] ?? '';
    const ref = input.head.includes(':') ? input.head.slice(input.head.indexOf(':') + 1) : input.head;
    const label = `${owner}:${ref}`;
    if (ref === input.base) {
      return unprocessable('Validation Failed', [
        { resource: 'PullRequest', code: 'custom', message: `No commits between ${input.base} and ${ref}` },
      ]);
    }
    if (pulls.some((p) => p.repo === repo.name && p.state === 'open' && p.head.label === label)) {
      const message = `A pull request already exists for ${label}.`;
      return unprocessable('Validation Failed', [{ resource: 'PullRequest', code: 'custom', message }]);
    }
    const number = (nextNumber.get(repo.name) ?? 0) + 1;
    nextNumber.set(repo.name, number);
    const pull: StandInPull = {
      repo: repo.name,
      number,
      head: { ref, label },
      base: { ref: input.base },
      title: input.title,
      body: input.body ?? '',
      draft: input.draft ?? false,
      state: 'open',
      html_url: `${url}/html/${repo.name}/pull/${number}`,
      user: { login },
    };
    pulls.push(pull);
    return { status: 201, json: toJson(pull) };
  }

  function addPull(
    input: Omit<StandInPull, 'number' | 'html_url' | 'state'> & { state?: 'open' | 'closed' },
  ) {
    const number = (nextNumber.get(input.repo) ?? 0) + 1;
    nextNumber.set(input.repo, number);
    const pull: StandInPull = {
      ...input,
      number,
      state: input.state ?? 'open',
      html_url: `${url}/html/${input.repo}/pull/${number}`,
    };
    pulls.push(pull);
    return pull;
  }

  function getPull(c: RecordedCall): StandInReply {
    const repo = find(c);
    const pull = repo && findPull(c, repo);
    return pull ? { json: toJson(pull) } : notFound();
  }

  function updatePull(c: RecordedCall): StandInReply {
    const repo = find(c);
    const pull = repo && findPull(c, repo);
    if (!pull) return notFound();
    const change = (c.body ?? {}) as Partial<Record<'title' | 'body' | 'base', string>> & { state?: string };
    if (change.title !== undefined) pull.title = change.title;
    if (change.body !== undefined) pull.body = change.body;
    if (change.base !== undefined) pull.base = { ref: change.base };
    if (change.state === 'open' || change.state === 'closed') pull.state = change.state;
    return { json: toJson(pull) };
  }

  function createComment(c: RecordedCall): StandInReply {
    const repo = find(c);
    const pull = repo && findPull(c, repo);
    if (!repo || !pull) return notFound();
    const body = (c.body as { body?: unknown } | undefined)?.body;
    if (typeof body !== 'string' || body.length === 0) {
      return unprocessable('Validation Failed', [
        { resource: 'IssueComment', code: 'missing_field', field: 'body' },
      ]);
    }
    const comment: StandInComment = {
      repo: repo.name,
      issueNumber: pull.number,
      id: nextId++,
      body,
      user: { login },
      at: Date.now(),
    };
    comments.push(comment);
    const htmlUrl = `${pull.html_url}#issuecomment-${comment.id}`;
    return { status: 201, json: { id: comment.id, body, user: comment.user, html_url: htmlUrl } };
  }

  return { pulls, comments, getRepo, listPulls, createPull, getPull, addPull, updatePull, createComment };
}

/** The subset of GitHub's pull request object that clients read. */
function toJson(p: StandInPull) {
  return {
    id: p.number,
    number: p.number,
    state: p.state,
    title: p.title,
    body: p.body,
    draft: p.draft,
    html_url: p.html_url,
    user: { login: p.user.login, type: p.user.login.endsWith('[bot]') ? 'Bot' : 'User' },
    head: { ref: p.head.ref, label: p.head.label, repo: { full_name: p.head.repo ?? p.repo } },
    base: { ref: p.base.ref, repo: { full_name: p.repo } },
    merged: p.merged ?? false,
  };
}
