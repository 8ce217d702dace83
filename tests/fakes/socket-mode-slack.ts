import { createHash, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { eventually, type SlackBody } from './slack-requests.js';

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

export interface Received {
  message: { envelope_id?: string; payload?: unknown };
  at: number;
}

/**
 * Slack's end of Socket Mode on 127.0.0.1, written against RFC 6455 because no WebSocket server
 * package is installed: `hello` on connect, `events_api` envelopes out, the client's text messages
 * (acks) recorded, pings answered, and the close handshake completed as Slack does.
 */
export async function startSocketModeSlack() {
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
    connected: () => sockets.size > 0,
    /** The envelope ids the app acknowledged, in order. */
    acked: () => received.flatMap((r) => (r.message.envelope_id ? [r.message.envelope_id] : [])),
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
