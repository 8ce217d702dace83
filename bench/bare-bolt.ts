/**
 * The baseline of bench/ack.ts: a bare Bolt app in HTTP mode with an empty `app_mention` listener and
 * Bolt's default early acknowledgement, on its own process. Prints `{"port":N}` once it listens.
 */
import bolt from '@slack/bolt';

const app = new bolt.App({
  signingSecret: process.env.SLACK_SIGNING_SECRET ?? '',
  authorize: async () => ({ botToken: 'xoxb-bench', botUserId: 'UPATCHBOT', botId: 'BPATCHBOT' }),
  logLevel: bolt.LogLevel.ERROR,
});
app.event('app_mention', async () => undefined);
const port = Number(process.env.PORT ?? 0);
await app.start(port);
process.stdout.write(`${JSON.stringify({ port })}\n`);
