import type { IncomingMessage } from 'node:http';
import { createSilentLogger } from '../../src/lib/logger.js';
import { createHttpServer, readHeader, readRawBody, sendJson } from '../../src/server/http-server.js';
import { registerPageRoutes } from '../../src/server/pages/register-page-routes.js';
import type { ViewerOf } from '../../src/server/viewer.js';
import { aTask, isoAgo, type PageData } from './page-data.js';

export interface RecordedPost {
  path: string;
  contentType: string | undefined;
  cookie: string | undefined;
  origin: string | undefined;
  body: string;
}

/**
 * Patchbay's page routes on a real server (127.0.0.1, a free port), with the API routes the pages
 * call played by stand-ins: the events stream (Server-Sent Events from the memory timeline, replayed
 * from the start or after Last-Event-ID), Stop and Retry (recorded; Retry makes a new queued task).
 * `/probe` records any request: injected markup that ran would call it.
 */
export async function startPageServer(data: PageData, opts: { viewerOf?: ViewerOf } = {}) {
  const http = createHttpServer({ log: createSilentLogger() });
  registerPageRoutes(http, data.deps(opts.viewerOf));
  const posts: RecordedPost[] = [];
  const probes: string[] = [];
  const lastEventIds: string[] = [];
  let onStream: Array<(lastEventId: string | undefined) => void> = [];
  const streams = new Set<AbortController>();
  let retries = 0;

  http.route('GET', '/api/tasks/:id/events', async (req, res, params) => {
    const stop = new AbortController();
    streams.add(stop);
    const lastEventId = readHeader(req, 'last-event-id');
    if (lastEventId) lastEventIds.push(lastEventId);
    req.on('close', () => stop.abort());
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    // A short reconnect delay, so that a test that ends the stream sees the page come back at once.
    res.write('retry: 50\n\n');
    for (const notify of onStream) notify(lastEventId);
    onStream = [];
    await data.timeline.follow(
      params.id ?? '',
      lastEventId,
      (entries) => {
        for (const e of entries)
          res.write(`id: ${e.id}\ndata: ${JSON.stringify({ id: e.id, entry: e.entry })}\n\n`);
      },
      stop.signal,
    );
    streams.delete(stop);
    res.end();
  });

  const record = async (req: IncomingMessage, path: string) => {
    const body = (await readRawBody(req)).toString('utf8');
    posts.push({
      path,
      contentType: req.headers['content-type'],
      cookie: req.headers.cookie,
      origin: req.headers.origin,
      body,
    });
  };

  http.route('POST', '/api/tasks/:id/cancel', async (req, res, params) => {
    await record(req, `/api/tasks/${params.id}/cancel`);
    sendJson(res, 202, { id: params.id, status: 'running' });
  });

  http.route('POST', '/api/tasks/:id/retry', async (req, res, params) => {
    await record(req, `/api/tasks/${params.id}/retry`);
    const old = data.tasks.get(params.id ?? '');
    if (!old) return sendJson(res, 404, { error: { code: 'task_not_found', message: 'no such task' } });
    retries += 1;
    const id = `${old.id}r${retries}`;
    data.add(
      aTask(id, {
        status: 'queued',
        createdAt: isoAgo(0),
        conversation: old.conversation,
        request: old.request,
      }),
    );
    data.retried(old.id, id);
    sendJson(res, 202, { id, conversation: old.conversation, status: 'queued' });
  });

  http.route('GET', '/probe', async (req, res) => {
    probes.push(req.url ?? '');
    sendJson(res, 200, {});
  });

  const port = await http.listen(0, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${port}`,
    posts,
    probes,
    /** The Last-Event-ID of each reconnection, in order. */
    lastEventIds,
    /** Resolves when the next events stream opens, with the Last-Event-ID it was asked with. */
    nextStream(): Promise<string | undefined> {
      return new Promise((resolve) => onStream.push(resolve));
    },
    /** Ends every open events stream, as a restarted server would. */
    dropStreams() {
      for (const s of streams) s.abort();
    },
    async close() {
      for (const s of streams) s.abort();
      http.server.closeAllConnections();
      await http.close();
    },
  };
}
export type PageServer = Awaited<ReturnType<typeof startPageServer>>;
