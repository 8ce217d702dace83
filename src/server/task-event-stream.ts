import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TaskTimeline } from '../domain/ports.js';
import type { StoredTimelineEntry } from '../domain/timeline.js';
import { type CancelTimer, type Clock, systemClock } from '../lib/clock.js';

/** A comment line keeps proxies from closing a quiet stream. */
const KEEP_ALIVE_MS = 15_000;

/** Whether the client asked for Server-Sent Events rather than JSON. */
export function wantsEventStream(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').split(',').some((t) => t.trim().startsWith('text/event-stream'));
}

/**
 * A task's timeline as Server-Sent Events: what happened before the page opened first (or after the
 * `Last-Event-ID` a reconnecting EventSource sends), then every entry as it is appended, whichever
 * process appends it. Each event's `id` is the entry's id and its `data` `{ id, entry }`. Ends when the
 * client goes away or the server stops (`stopping`).
 */
export async function streamTimeline(
  req: IncomingMessage,
  res: ServerResponse,
  deps: { timeline: TaskTimeline; taskId: string; after?: string; stopping: AbortSignal; clock?: Clock },
): Promise<void> {
  const clock = deps.clock ?? systemClock;
  if (deps.stopping.aborted) {
    // A reconnect that reached a server on its way down: the client tries again, elsewhere or later.
    res.writeHead(503, { 'retry-after': '1', 'cache-control': 'no-store' }).end();
    return;
  }
  const done = new AbortController();
  const stop = () => done.abort();
  req.once('close', stop);
  deps.stopping.addEventListener('abort', stop, { once: true });
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write('retry: 2000\n\n');
  let cancelKeepAlive: CancelTimer = () => undefined;
  const keepAlive = () => {
    cancelKeepAlive = clock.setTimer(() => {
      if (done.signal.aborted) return;
      res.write(': keep-alive\n\n');
      keepAlive();
    }, KEEP_ALIVE_MS);
  };
  keepAlive();
  const send = (entries: StoredTimelineEntry[]) => {
    for (const stored of entries) res.write(`id: ${stored.id}\ndata: ${JSON.stringify(stored)}\n\n`);
  };
  try {
    await deps.timeline.follow(deps.taskId, deps.after, send, done.signal);
  } finally {
    cancelKeepAlive();
    req.off('close', stop);
    deps.stopping.removeEventListener('abort', stop);
    res.end();
  }
}
