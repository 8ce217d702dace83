import { type Logger as BoltLogger, LogLevel, webApi } from '@slack/bolt';
import { createKeepAliveFetch } from '../../lib/keep-alive-fetch.js';
import type { Logger } from '../../lib/logger.js';
import type { SlackSettings } from './slack-settings.js';

export type WebClient = webApi.WebClient;

export interface SlackClients {
  /**
   * For replies and progress: waits out a 429 for as long as `Retry-After` says (the client pauses
   * its whole queue, so every task's updates wait together) and retries a few times.
   */
  patient: WebClient;
  /**
   * For the look-ups made while Slack waits for our answer (thread history, permalink, channel name):
   * fails fast instead of waiting, because the event must be answered within 3 seconds.
   */
  quick: WebClient;
}

/** The two Web API clients, pointed at `SLACK_API_URL`. Built by the composition root. */
export function createSlackClients(settings: SlackSettings, log: Logger): SlackClients {
  const logger = toBoltLogger(log.child({ component: 'slack-web-api' }));
  // Both clients call through one pool of keep-alive connections, at a fraction of the CPU of the
  // built-in fetch per call: a task makes two or three calls the moment it is accepted.
  const common = {
    slackApiUrl: settings.apiUrl,
    logger,
    fetch: createKeepAliveFetch({ proxied: settings.proxied }),
  };
  return {
    patient: new webApi.WebClient(settings.botToken, {
      ...common,
      retryConfig: { retries: 5, factor: 2, minTimeout: 500, maxTimeout: 30_000 },
      timeout: 20_000,
    }),
    quick: new webApi.WebClient(settings.botToken, {
      ...common,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: 1_500,
    }),
  };
}

/**
 * Bolt and the Web API client log through this: fixed messages go to pino at debug level and below
 * (Bolt's own messages are not ours to show at info), warnings and errors as they are.
 */
export function toBoltLogger(log: Logger): BoltLogger {
  let level: LogLevel = LogLevel.INFO;
  const text = (msg: unknown[]) =>
    msg.map((m) => (m instanceof Error ? m.message : typeof m === 'string' ? m : '')).join(' ');
  return {
    // The Web API client's debug lines carry request and response bodies (people's messages): dropped.
    debug: () => undefined,
    info: (...msg) => log.debug(text(msg)),
    warn: (...msg) => log.warn(text(msg)),
    error: (...msg) => log.error(text(msg)),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
