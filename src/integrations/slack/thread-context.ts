import { type Clock, sleep, systemClock } from '../../lib/clock.js';
import { withDeadline } from '../../lib/deadline.js';
import type { Logger } from '../../lib/logger.js';
import { toPlainText } from './parse-message.js';
import type { WebClient } from './slack-client.js';
import { isPersonMessage, Replies } from './slack-events.js';

const CONTEXT_LIMIT = 20_000;
/** The whole look-up, every page and a retry included: it runs while Slack waits for our answer. */
const CAP_MS = 1_500;
const PAGE_SIZE = 200;
/** At most this many messages are read (a thread longer than that is cut at its oldest end). */
const MAX_PAGES = 10;

type Where = { channel: string; threadTs: string; beforeTs: string; botUserId: string; botId?: string };
type Deps = { client: WebClient; log: Logger; clock?: Clock };

/**
 * The earlier messages of a thread, oldest first, as `<user>: text` lines: people's messages only
 * (the bot's own status and replies are noise to the agent), at most the newest 20,000 characters
 * before the mention. conversations.replies pages from the oldest message, so every page is read,
 * within 1.5 s in all. It reaches the model as untrusted data. Undefined when there is none or
 * Slack did not answer in time; what was read before a failure is kept.
 */
export async function fetchThreadContext(deps: Deps, at: Where): Promise<string | undefined> {
  const clock = deps.clock ?? systemClock;
  const deadline = clock.now() + CAP_MS;
  const lines: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  try {
    do {
      const res = await readPage(deps, clock, at, cursor, deadline);
      pages += 1;
      lines.push(
        ...res.messages.filter((m) => isContext(m, at)).map((m) => `${m.user}: ${toPlainText(m.text)}`),
      );
      cursor = res.response_metadata?.next_cursor || undefined;
    } while (cursor && pages < MAX_PAGES);
    if (cursor) deps.log.info({ pages }, 'slack thread too long; its oldest messages are left out');
  } catch (err) {
    deps.log.warn(
      { err: (err as Error).message, pages },
      'could not read all of the slack thread; going on with what was read',
    );
  }
  let text = lines.join('\n');
  if (text.length > CONTEXT_LIMIT) text = `…${text.slice(text.length - CONTEXT_LIMIT)}`;
  return text.trim() ? `Earlier messages in the Slack thread, oldest first:\n${text}` : undefined;
}

function isContext(m: Replies['messages'][number], at: Where): boolean {
  if (Number(m.ts) >= Number(at.beforeTs)) return false;
  return !m.bot_id && Boolean(m.user) && m.user !== at.botUserId && isPersonMessage(m.subtype);
}

/**
 * One page, within the deadline. The quick client rejects a 429 at once instead of waiting; when
 * Slack's `Retry-After` still fits before the deadline it is waited out and the page asked again, once.
 */
async function readPage(deps: Deps, clock: Clock, at: Where, cursor: string | undefined, deadline: number) {
  const ask = () =>
    withDeadline(
      deps.client.conversations.replies({ channel: at.channel, ts: at.threadTs, limit: PAGE_SIZE, cursor }),
      deadline - clock.now(),
      'slack did not answer in time',
      clock,
    );
  try {
    return Replies.parse(await ask());
  } catch (err) {
    const retryAfterMs = rateLimitedFor(err);
    if (retryAfterMs === undefined) throw err;
    if (clock.now() + retryAfterMs >= deadline) {
      throw new Error(`rate limited by conversations.replies for ${retryAfterMs / 1000} s`);
    }
    deps.log.info({ retryAfterMs }, 'slack thread history rate limited; asking again once');
    await sleep(clock, retryAfterMs);
    return Replies.parse(await ask());
  }
}

function rateLimitedFor(err: unknown): number | undefined {
  const e = err as { code?: unknown; retryAfter?: unknown } | null;
  if (e?.code !== 'slack_webapi_rate_limited_error') return undefined;
  return typeof e.retryAfter === 'number' ? e.retryAfter * 1000 : 0;
}
