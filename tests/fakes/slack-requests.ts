import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'slack');

export type SlackBody = Record<string, unknown> & { event?: Record<string, unknown> };

/** A trimmed real-shaped payload from tests/fixtures/slack, with a fresh `event_id` and overrides. */
export function slackEvent(
  fixture: string,
  event: Record<string, unknown> = {},
  envelope: Record<string, unknown> = {},
): SlackBody {
  const body = JSON.parse(readFileSync(join(FIXTURES, `${fixture}.json`), 'utf8')) as SlackBody;
  return {
    ...body,
    event_id: `Ev${randomBytes(5).toString('hex').toUpperCase()}`,
    ...envelope,
    event: { ...body.event, ...event },
  };
}

let tsCounter = 0;
/** A message timestamp no other message in the test has. */
export function nextTs(): string {
  tsCounter += 1;
  return `${1_712_000_000 + tsCounter}.${String(tsCounter).padStart(6, '0')}`;
}

/** Slack's request signature: `v0=` + HMAC-SHA256 of `v0:<timestamp>:<body bytes>` with the signing secret. */
export function signSlack(secret: string, body: string | Buffer, timestamp = Math.floor(Date.now() / 1000)) {
  const mac = createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body);
  const signature = `v0=${mac.digest('hex')}`;
  return { 'x-slack-signature': signature, 'x-slack-request-timestamp': String(timestamp) };
}

/** POSTs a body to `/slack/events` the way Slack does, signed unless `headers` say otherwise. */
export function postToSlackEvents(
  base: string,
  secret: string,
  body: SlackBody | string | Buffer,
  opts: { headers?: Record<string, string>; timestamp?: number; unsigned?: boolean } = {},
): Promise<Response> {
  const raw = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const signed = opts.unsigned ? {} : signSlack(secret, raw, opts.timestamp);
  return fetch(`${base}/slack/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'Slackbot 1.0', ...signed, ...opts.headers },
    body: raw,
  });
}

/** Polls until `check` returns something truthy. */
export async function eventually<T>(
  check: () => T | Promise<T>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Slack's side of a Socket Mode websocket on 127.0.0.1 (RFC 6455, text frames only; no websocket
 * server package is installed): says `hello`, sends `events_api` envelopes, records the envelope ids
 * the app acknowledged, answers pings and closes.
 */
export async function startSocketModeSlack() {
  const sockets = new Set<Socket>();
  const acked: string[] = [];
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket: Socket) => {
    const key = String(req.headers['sec-websocket-key'] ?? '');
    const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (let frame = clientFrame(buffered); frame; frame = clientFrame(buffered)) {
        buffered = buffered.subarray(frame.size);
        if (frame.opcode === 0x9) socket.write(serverFrame(0xa, frame.payload));
        if (frame.opcode === 0x8) socket.end(serverFrame(0x8, frame.payload.subarray(0, 2)));
        if (frame.opcode !== 0x1) continue;
        const message = JSON.parse(frame.payload.toString('utf8')) as { envelope_id?: string };
        if (message.envelope_id) acked.push(message.envelope_id);
      }
    });
    socket.write(serverFrame(0x1, Buffer.from(JSON.stringify({ type: 'hello', num_connections: 1 }))));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/link/`,
    acked,
    connected: () => sockets.size > 0,
    /** Sends an Events API delivery as Socket Mode wraps it; returns the envelope id. */
    send(payload: SlackBody, retryAttempt = 0): string {
      const [socket] = sockets;
      if (!socket) throw new Error('no Socket Mode connection');
      const envelope_id = randomUUID();
      const envelope = {
        envelope_id,
        type: 'events_api',
        payload,
        accepts_response_payload: false,
        retry_attempt: retryAttempt,
        retry_reason: retryAttempt ? 'timeout' : '',
      };
      socket.write(serverFrame(0x1, Buffer.from(JSON.stringify(envelope))));
      return envelope_id;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One whole client frame (always masked) from the front of `buf`, or null while it is incomplete. */
function clientFrame(buf: Buffer): { opcode: number; payload: Buffer; size: number } | null {
  if (buf.length < 2) return null;
  let length = (buf[1] ?? 0) & 0x7f;
  let at = 2;
  if (length === 126) {
    if (buf.length < 4) return null;
    length = buf.readUInt16BE(2);
    at = 4;
  } else if (length === 127) {
    if (buf.length < 10) return null;
    length = Number(buf.readBigUInt64BE(2));
    at = 10;
  }
  if (buf.length < at + 4 + length) return null;
  const mask = buf.subarray(at, at + 4);
  const payload = Buffer.from(buf.subarray(at + 4, at + 4 + length)).map((b, i) => b ^ (mask[i % 4] ?? 0));
  return { opcode: (buf[0] ?? 0) & 0x0f, payload: Buffer.from(payload), size: at + 4 + length };
}

function serverFrame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x80 | opcode, n]) : Buffer.alloc(4);
  if (n >= 126) {
    if (n > 0xffff) throw new Error('frame too large for this fake');
    head.writeUInt8(0x80 | opcode, 0);
    head.writeUInt8(126, 1);
    head.writeUInt16BE(n, 2);
  }
  return Buffer.concat([head, payload]);
}
