import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEnv } from '../../src/config/load-config.js';
import { readSlackSettings } from '../../src/integrations/slack/slack-settings.js';
import { createKeepAliveFetch } from '../../src/lib/keep-alive-fetch.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** The client's port: the same one twice means the connection was kept. */
  port: number;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A loopback server answering each request with `answer`, recording what it received. */
async function serve(answer: (req: IncomingMessage, res: ServerResponse, seen: Seen) => void) {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      const one = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body,
        port: req.socket.remotePort ?? 0,
      };
      seen.push(one);
      answer(req, res, one);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

/** A POST whose signal times out after 50 ms: what the fetch rejected with. */
function postTimingOut(url: string): Promise<unknown> {
  return createKeepAliveFetch({ proxied: false })(url, {
    method: 'POST',
    body: 'x',
    redirect: 'error',
    signal: AbortSignal.timeout(50),
  }).catch((e: Error) => e);
}

describe('keep-alive fetch', () => {
  it('posts a form over one kept connection and returns a standard Response', async () => {
    const { base, seen } = await serve((_req, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.writeHead(200, { 'content-type': 'application/json', 'x-oauth-scopes': 'chat:write' });
      res.end('{"ok":true,"ts":"1.2"}');
    });
    const fetchFn = createKeepAliveFetch({ proxied: false });
    const call = () =>
      fetchFn(`${base}/api/chat.postMessage`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Bearer xoxb-1' },
        body: 'channel=C1&text=hi+there',
        redirect: 'error',
      });

    const first = await call();
    const second = await call();

    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ ok: true, ts: '1.2' });
    expect(first.headers.get('x-oauth-scopes')).toBe('chat:write');
    expect(first.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(first.url).toBe(`${base}/api/chat.postMessage`);
    expect(await second.text()).toBe('{"ok":true,"ts":"1.2"}');
    expect(seen.map((s) => [s.method, s.url, s.body])).toEqual([
      ['POST', '/api/chat.postMessage', 'channel=C1&text=hi+there'],
      ['POST', '/api/chat.postMessage', 'channel=C1&text=hi+there'],
    ]);
    expect(seen[0]?.headers).toMatchObject({
      'content-type': 'application/x-www-form-urlencoded',
      authorization: 'Bearer xoxb-1',
      'content-length': '24',
    });
    expect(seen[0]?.headers['user-agent']).toBeUndefined();
    expect(seen[1]?.port).toBe(seen[0]?.port);
  });

  it('decodes a compressed answer and hands it over without its encoding', async () => {
    const { base, seen } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(gzipSync(JSON.stringify({ ok: true, messages: ['x'.repeat(5_000)] })));
    });

    const res = await createKeepAliveFetch({ proxied: false })(`${base}/api/conversations.replies`, {
      method: 'POST',
      body: new URLSearchParams({ channel: 'C1' }),
      redirect: 'error',
    });

    expect(((await res.json()) as { messages: string[] }).messages[0]).toHaveLength(5_000);
    expect(res.headers.get('content-encoding')).toBeNull();
    expect(seen[0]?.headers['accept-encoding']).toContain('gzip');
    expect(seen[0]?.headers['content-type']).toBe('application/x-www-form-urlencoded;charset=UTF-8');
  });

  it('rejects with the signal’s reason when it times out, and closes the request', async () => {
    let closed!: () => void;
    const requestClosed = new Promise<void>((r) => {
      closed = r;
    });
    const { base } = await serve((req) => {
      req.socket.once('close', () => closed()); // never answered
    });

    const err = await postTimingOut(`${base}/slow`);

    expect((err as Error).name).toBe('TimeoutError');
    await requestClosed;
  });

  it('rejects the body’s read with the signal’s reason when it times out halfway through the answer', async () => {
    const { base } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"ok":'); // and the rest never comes
    });

    const err = await postTimingOut(`${base}/half`);

    expect((err as Error).name).toBe('TimeoutError');
  });

  it('refuses a redirect when told to, and says a refused connection as fetch does', async () => {
    const { base } = await serve((_req, res) => {
      res.writeHead(302, { location: '/elsewhere' }).end();
    });
    const fetchFn = createKeepAliveFetch({ proxied: false });

    const redirected = await fetchFn(`${base}/api/x`, { method: 'POST', body: '', redirect: 'error' }).catch(
      (e: Error) => e,
    );
    const closedPort = await serve(() => undefined).then(async ({ base: other, server }) => {
      server.close();
      servers.splice(servers.indexOf(server), 1);
      await new Promise((r) => setTimeout(r, 10));
      return other;
    });
    const refused = await fetchFn(`${closedPort}/api/x`, {
      method: 'POST',
      body: '',
      redirect: 'error',
    }).catch((e: Error) => e);

    expect(redirected).toBeInstanceOf(TypeError);
    expect(((redirected as TypeError).cause as Error).message).toMatch(/redirect/);
    expect(refused).toBeInstanceOf(TypeError);
    expect(((refused as TypeError).cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('answers 204 with no body, and leaves what it does not cover (form data, redirects to follow) to fetch', async () => {
    const { base, seen } = await serve((req, res) => {
      if (req.url === '/empty') return void res.writeHead(204).end();
      if (req.url === '/moved') return void res.writeHead(301, { location: '/form' }).end();
      res.writeHead(200).end(String(req.headers['content-type']));
    });
    const fetchFn = createKeepAliveFetch({ proxied: false });
    const form = new FormData();
    form.append('file', new Blob(['hello']), 'a.txt');

    const empty = await fetchFn(`${base}/empty`, { method: 'POST', body: 'x', redirect: 'error' });
    const multipart = await fetchFn(`${base}/form`, { method: 'POST', body: form, redirect: 'error' });
    const followed = await fetchFn(`${base}/moved`);

    expect([empty.status, empty.body]).toEqual([204, null]);
    expect(await multipart.text()).toMatch(/^multipart\/form-data; boundary=/);
    expect(seen[1]?.body).toContain('hello');
    expect([followed.status, followed.redirected]).toEqual([200, true]);
  });

  it('sends a request once more on a new connection when the server closed the kept one unanswered', async () => {
    // Answers the first request of each connection (keep-alive, no timeout hint) and closes the
    // connection when a second one arrives on it: a server dropping an idle connection just then.
    const requests: Array<{ connection: number; nth: number }> = [];
    let connections = 0;
    const sockets: Socket[] = [];
    const tcp = createTcpServer((socket) => {
      sockets.push(socket);
      const connection = ++connections;
      let nth = 0;
      socket.on('data', () => {
        nth += 1;
        requests.push({ connection, nth });
        if (nth > 1) return void socket.destroy();
        socket.write(
          'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nConnection: keep-alive\r\n\r\n{"ok":true}',
        );
      });
    });
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(tcp.address() as AddressInfo).port}`;
    const fetchFn = createKeepAliveFetch({ proxied: false });
    const call = () =>
      fetchFn(`${base}/api/reactions.add`, { method: 'POST', body: 'x=1', redirect: 'error' });

    try {
      const first = await (await call()).json();
      const second = await (await call()).json();

      expect([first, second]).toEqual([{ ok: true }, { ok: true }]);
      expect(requests).toEqual([
        { connection: 1, nth: 1 },
        { connection: 1, nth: 2 }, // closed unanswered
        { connection: 2, nth: 1 },
      ]);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((r) => tcp.close(r));
    }
  });

  it('leaves every request to fetch on a host behind a proxy', async () => {
    const { base, seen } = await serve((_req, res) => res.writeHead(200).end('ok'));
    const env = parseEnv({
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_SIGNING_SECRET: 's',
      HTTPS_PROXY: 'http://proxy.invalid:3128',
    });
    const settings = readSlackSettings(env);
    const fetchFn = createKeepAliveFetch({ proxied: settings?.proxied ?? false });

    await (await fetchFn(`${base}/a`, { method: 'POST', body: 'x', redirect: 'error' })).text();

    // The built-in fetch says who it is; the keep-alive fetch sends no user agent.
    expect(settings?.proxied).toBe(true);
    expect(seen[0]?.headers['user-agent']).toBe('node');
  });
});
