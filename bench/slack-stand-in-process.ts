/**
 * The Slack Web API stand-in in a process of its own, for bench/ack.ts: the Web API calls Patchbay
 * makes after each answer (👀, the reply, the channel's name) then load neither the process that
 * sends the mentions nor the one that measures them. Prints `{"port":N,"token":"xoxb-…"}`.
 */
import { startSlackStandIn } from '../tests/fakes/slack-stand-in.js';

const stand = await startSlackStandIn({ botUserId: 'UPATCHBOT', channels: { C0GENERAL: 'general' } });
const port = Number(new URL(stand.url).port);
process.stdout.write(`${JSON.stringify({ port, token: stand.token })}\n`);
