import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createBareRepo, fixtureGitEnv, git } from './git-fixtures.js';

export interface GitHttpServer {
  /** http://127.0.0.1:PORT; a repository is at `${url}/${owner}/${name}.git` */
  url: string;
  /** How many HTTP requests were served (including refused ones). */
  readonly requests: number;
  /** How many HTTP requests arrived, the ones `delayMs` still holds back included. */
  readonly received: number;
  close(): Promise<void>;
  createRepo(repo: string, files: Record<string, string>, opts?: { defaultBranch?: string }): Promise<string>;
  readFile(repo: string, ref: string, path: string): Promise<string | null>;
  /** Commit subjects, newest first. */
  log(repo: string, ref: string): Promise<string[]>;
  branches(repo: string): Promise<string[]>;
}

export interface GitHttpServerOptions {
  /** Directory of bare repositories as `<owner>/<name>.git`. */
  root: string;
  /** When set, every request must carry Basic auth with this password (any user) or `Bearer <token>`. */
  token?: string;
  acceptToken?: (token: string) => boolean;
  /** Holds every request back this long: a slow or hanging remote, for cancellation tests. */
  delayMs?: number;
  /**
   * GitHub serves git and its web pages from one host: requests under `/login/` (sign-in with GitHub)
   * are passed to this stand-in web host instead of git.
   */
  webHost?: string;
}

/** The password of Basic auth or the Bearer token of a request, if any. */
function presentedToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization ?? '';
  const [scheme, value = ''] = header.split(' ', 2);
  if (scheme?.toLowerCase() === 'bearer') return value;
  if (scheme?.toLowerCase() !== 'basic') return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

function isAuthorized(req: IncomingMessage, opts: GitHttpServerOptions): boolean {
  if (!opts.token && !opts.acceptToken) return true;
  const token = presentedToken(req);
  if (token === undefined) return false;
  return token === opts.token || (opts.acceptToken?.(token) ?? false);
}

/** Splits the CGI response head (`Status:` and headers) from the body. */
function parseCgiHead(head: string): { status: number; headers: Array<[string, string]> } {
  let status = 200;
  const headers: Array<[string, string]> = [];
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 200;
    else headers.push([name, value]);
  }
  return { status, headers };
}

function cgiEnv(req: IncomingMessage, root: string): NodeJS.ProcessEnv {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const env: NodeJS.ProcessEnv = {
    ...fixtureGitEnv(root),
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    PATH_INFO: decodeURIComponent(url.pathname),
    REQUEST_METHOD: req.method ?? 'GET',
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    REMOTE_USER: 'patchbay',
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    GATEWAY_INTERFACE: 'CGI/1.1',
  };
  if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
  if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
  const protocol = req.headers['git-protocol'];
  if (typeof protocol === 'string') env.GIT_PROTOCOL = protocol;
  return env;
}

/** Passes a request to another loopback server as it is, and its answer back, redirects included. */
async function forward(req: IncomingMessage, res: ServerResponse, host: string): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const headers: Record<string, string> = {};
  for (const name of ['content-type', 'accept', 'authorization']) {
    const value = req.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  const answer = await fetch(new URL(req.url ?? '/', host), {
    method: req.method,
    headers,
    body: chunks.length ? Buffer.concat(chunks) : undefined,
    redirect: 'manual',
  });
  const kept: Record<string, string> = {};
  for (const name of ['content-type', 'location']) {
    const value = answer.headers.get(name);
    if (value) kept[name] = value;
  }
  res.writeHead(answer.status, kept).end(Buffer.from(await answer.arrayBuffer()));
}

/** Streams the request into `git http-backend` and its CGI output back as the HTTP response. */
function serveCgi(req: IncomingMessage, res: ServerResponse, root: string): void {
  const child = spawn('git', ['http-backend'], { env: cgiEnv(req, root), stdio: ['pipe', 'pipe', 'ignore'] });
  req.pipe(child.stdin);
  child.stdin.on('error', () => undefined);
  let head = Buffer.alloc(0);
  let headDone = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headDone) return void res.write(chunk);
    head = Buffer.concat([head, chunk]);
    const text = head.toString('latin1');
    const match = /\r?\n\r?\n/.exec(text);
    if (!match) return;
    headDone = true;
    const { status, headers } = parseCgiHead(text.slice(0, match.index));
    res.writeHead(status, headers);
    res.write(head.subarray(match.index + match[0].length));
  });
  child.on('close', () => {
    if (!headDone) res.writeHead(502).end('http-backend gave no response');
    else res.end();
  });
  child.on('error', () => (res.headersSent ? res.end() : res.writeHead(500).end()));
}

/**
 * A git smart-HTTP remote on loopback: `git http-backend` behind a node:http server, with optional
 * token auth like GitHub's. Stands in for GitHub's git endpoint in the demo, tests and benchmarks.
 */
export async function startGitHttpServer(opts: GitHttpServerOptions): Promise<GitHttpServer> {
  let requests = 0;
  let received = 0;
  const server = createServer(async (req, res) => {
    received += 1;
    // unref: a request held back that nobody waits for any more must not keep the process alive.
    if (opts.delayMs) await new Promise((resolve) => setTimeout(resolve, opts.delayMs).unref());
    requests += 1;
    if (opts.webHost && (req.url ?? '').startsWith('/login/')) {
      await forward(req, res, opts.webHost);
      return;
    }
    if (!isAuthorized(req, opts)) {
      res
        .writeHead(401, { 'WWW-Authenticate': 'Basic realm="git stand-in"' })
        .end('authentication required\n');
      return;
    }
    serveCgi(req, res, opts.root);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const gitDir = (repo: string) => join(opts.root, `${repo}.git`);
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    get received() {
      return received;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    createRepo: (repo, files, repoOpts) => createBareRepo(gitDir(repo), files, repoOpts),
    readFile: (repo, ref, path) =>
      git(['--git-dir', gitDir(repo), 'show', `${ref}:${path}`]).catch(() => null),
    log: async (repo, ref) =>
      (await git(['--git-dir', gitDir(repo), 'log', '--format=%s', ref])).split('\n').filter(Boolean),
    branches: async (repo) =>
      (await git(['--git-dir', gitDir(repo), 'for-each-ref', '--format=%(refname:short)', 'refs/heads/']))
        .split('\n')
        .filter(Boolean),
  };
}
