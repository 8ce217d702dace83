import { createHash, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type SlackStandIn, startSlackStandIn } from '../../src/demo/slack-stand-in.js';
import { type Harness, isFinal, startHarness } from '../fakes/harness.js';
import { FIX_GREETING } from '../fakes/scripts.js';
import { eventually, nextTs, type SlackBody, slackEvent } from '../fakes/slack-requests.js';

const BOT = 'UPATCHBOT';
/** RFC 6455 §1.3: the server proves it read the handshake by hashing the key with this GUID. */
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OP = { continuation: 0x0, text: 0x1, close: 0x8, ping: 0x9, pong: 0xa } as const;

interface Frame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
  size: number;
}

/** One frame from the front of `buf`, unmasked (clients always mask), or null when it is not all there. */
function readFrame(buf: Buffer): Frame | null {
  if (buf.length < 2) return null;
  const first = buf.readUInt8(0);
  const second = buf.readUInt8(1);
  let length = second & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buf.length < 4) return null;
    length = buf.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buf.length < 10) return null;
    length = Number(buf.readBigUInt64BE(2));
    offset = 10;
  }
  const masked = (second & 0x80) !== 0;
  const mask = masked ? buf.subarray(offset, offset + 4) : undefined;
  if (masked) offset += 4;
  if (buf.length < offset + length) return null;
  const payload = Buffer.from(buf.subarray(offset, offset + length));
  if (mask)
    for (let i = 0; i < length; i++) payload.writeUInt8(payload.readUInt8(i) ^ mask.readUInt8(i % 4), i);
  return { fin: (first & 0x80) !== 0, opcode: first & 0x0f, payload, size: offset + length };
}

/** A single unmasked frame, as a server sends it. */
function writeFrame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const head = Buffer.alloc(n < 126 ? 2 : n < 65_536 ? 4 : 10);
  head.writeUInt8(0x80 | opcode, 0);
  if (n < 126) head.writeUInt8(n, 1);
  else if (n < 65_536) {
    head.writeUInt8(126, 1);
    head.writeUInt16BE(n, 2);
  } else {
    head.writeUInt8(127, 1);
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

interface Received {
  message: { envelope_id?: string; payload?: unknown };
  at: number;
}

/**
 * Slack's end of Socket Mode on 127.0.0.1, written against RFC 6455 because no WebSocket server
 * package is installed: `hello` on connect, `events_api` envelopes out, the client's text messages
 * (acks) recorded, pings answered, and the close handshake completed as Slack does.
 */
async function startSocketModeServer() {
  const sockets = new Set<Socket>();
  const received: Received[] = [];
  const closeCodes: number[] = [];
  let connections = 0;
  let onMessage: (r: Received) => void = () => undefined;
  const server = createServer((_req, res) => res.writeHead(404).end());

  server.on('upgrade', (req, socket: Socket, head: Buffer) => {
    const key = req.headers['sec-websocket-key'];
    if (req.headers.upgrade?.toLowerCase() !== 'websocket' || typeof key !== 'string') {
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      return;
    }
    const accept = createHash('sha1').update(`${key}${WS_GUID}`).digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending = Buffer.from(head);
    let parts: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (let frame = readFrame(pending); frame; frame = readFrame(pending)) {
        pending = pending.subarray(frame.size);
        if (frame.opcode === OP.ping) socket.write(writeFrame(OP.pong, frame.payload));
        if (frame.opcode === OP.close) {
          closeCodes.push(frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005);
          socket.end(writeFrame(OP.close, frame.payload.subarray(0, 2)));
        }
        if (frame.opcode !== OP.text && frame.opcode !== OP.continuation) continue;
        parts.push(frame.payload);
        if (!frame.fin) continue;
        const r = { message: JSON.parse(Buffer.concat(parts).toString('utf8')), at: Date.now() };
        parts = [];
        received.push(r);
        onMessage(r);
      }
    });
    const hello = { type: 'hello', num_connections: 1, connection_info: { app_id: 'A0PATCHAPP' } };
    socket.write(writeFrame(OP.text, Buffer.from(JSON.stringify(hello))));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `ws://127.0.0.1:${port}/link/`,
    received,
    closeCodes,
    connections: () => connections,
    open: () => sockets.size,
    /** Called synchronously as each client message arrives, before any other code of the test runs. */
    onMessage(fn: (r: Received) => void) {
      onMessage = fn;
    },
    /** Sends an Events API delivery the way Slack wraps it for Socket Mode; returns its envelope id. */
    sendEvent(payload: SlackBody, retry?: { attempt: number; reason: string }): string {
      const [socket] = sockets;
      if (!socket) throw new Error('no Socket Mode connection');
      const envelopeId = randomUUID();
      const envelope = {
        envelope_id: envelopeId,
        type: 'events_api',
        payload,
        accepts_response_payload: false,
        retry_attempt: retry?.attempt ?? 0,
        retry_reason: retry?.reason ?? '',
      };
      socket.write(writeFrame(OP.text, Buffer.from(JSON.stringify(envelope))));
      return envelopeId;
    },
    ackFor(envelopeId: string) {
      return eventually(
        () => received.find((r) => r.message.envelope_id === envelopeId),
        20_000,
        `ack of ${envelopeId}`,
      );
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let h: Harness | undefined;
let slack: SlackStandIn | undefined;
let ws: Awaited<ReturnType<typeof startSocketModeServer>> | undefined;
afterEach(async () => {
  await h?.close();
  await slack?.close();
  await ws?.close();
  h = undefined;
  slack = undefined;
  ws = undefined;
});

/** Task ids Patchbay has logged as queued so far (the log is written synchronously, in this process). */
function queuedTaskIds(harness: Harness): string[] {
  return harness.logLines
    .map((line) => JSON.parse(line) as { msg?: string; taskId?: string })
    .filter((entry) => entry.msg === 'task queued')
    .map((entry) => entry.taskId ?? '');
}

describe('Slack in Socket Mode (SLACK_APP_TOKEN)', () => {
  it('takes a mention from the websocket to a PR, acknowledges it once queued, and ignores a redelivery', async () => {
    ws = await startSocketModeServer();
    slack = await startSlackStandIn({ botUserId: BOT, socketUrl: ws.url });
    h = await startHarness({
      script: FIX_GREETING,
      env: { SLACK_BOT_TOKEN: slack.token, SLACK_APP_TOKEN: slack.appToken, SLACK_API_URL: slack.url },
    });
    const harness = h;
    const stand = slack;
    const queuedAtAck = new Map<string, string[]>();
    ws.onMessage((r) => {
      if (r.message.envelope_id) queuedAtAck.set(r.message.envelope_id, queuedTaskIds(harness));
    });
    const ts = nextTs();
    const body = slackEvent('app_mention_channel', { text: `<@${BOT}> fix the greeting in acme/web`, ts });
    const posts = () => stand.callsTo('chat.postMessage').filter((c) => c.args.thread_ts === ts);

    const first = ws.sendEvent(body);
    const firstAck = await ws.ackFor(first);
    const accepted = await eventually(() => posts()[0], 20_000, 'accept reply');
    const eyes = await eventually(
      () => stand.callsTo('reactions.add').find((c) => c.args.timestamp === ts && c.args.name === 'eyes'),
      20_000,
      '👀',
    );
    const taskId = /task `(t[0-9a-z]+)`/.exec(accepted.args.text ?? '')?.[1] ?? '';
    const task = await h.waitFor(taskId, isFinal, 90_000);
    const result = await eventually(
      () => posts().find((c) => c.args.text?.includes('|Pull request #')),
      20_000,
      'result reply',
    );
    const redelivered = ws.sendEvent(body, { attempt: 1, reason: 'timeout' });
    const secondAck = await ws.ackFor(redelivered);
    await new Promise((r) => setTimeout(r, 500));

    expect(stand.callsTo('apps.connections.open')[0]?.result?.url).toMatch(/^ws:\/\/127\.0\.0\.1:/);
    expect(firstAck.message).toEqual({ envelope_id: first, payload: {} });
    expect(queuedAtAck.get(first)).toEqual([taskId]);
    expect(accepted.args.text).toContain(
      `\`acme/web\`, base the repository's default branch, task \`${taskId}\``,
    );
    expect(eyes.args.channel).toBe('C0GENERAL');
    expect(task.status).toBe('succeeded');
    expect(h.github.pulls).toHaveLength(1);
    expect(result.args.text).toContain(`|Pull request #${task.pullRequest?.number}>`);
    expect(secondAck.message).toEqual({ envelope_id: redelivered, payload: {} });
    expect(queuedTaskIds(h)).toEqual([taskId]);
    expect(posts().filter((c) => c.args.text?.startsWith('👀 On it'))).toHaveLength(1);
    expect(stand.callsTo('reactions.add').filter((c) => c.args.name === 'eyes')).toHaveLength(1);
    expect(stand.unmatched).toEqual([]);
    expect(h.logLines.join('')).not.toContain(stand.appToken);
  }, 120_000);

  it('closes the websocket with a normal close when Patchbay stops', async () => {
    ws = await startSocketModeServer();
    slack = await startSlackStandIn({ botUserId: BOT, socketUrl: ws.url });
    h = await startHarness({
      script: [],
      worker: false,
      env: { SLACK_BOT_TOKEN: slack.token, SLACK_APP_TOKEN: slack.appToken, SLACK_API_URL: slack.url },
    });
    const server = ws;
    const openBefore = server.open();

    await h.close();
    h = undefined;
    // Bolt's SocketModeReceiver.stop() starts the close handshake without waiting for its end.
    await eventually(() => server.open() === 0, 10_000, 'the websocket to close');

    expect(openBefore).toBe(1);
    expect(server.closeCodes).toEqual([1000]);
    expect(server.connections()).toBe(1);
  });
});
