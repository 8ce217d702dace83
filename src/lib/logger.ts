import { pino } from 'pino';

export type Logger = pino.Logger;

/** Paths whose values never reach a log line, whatever object they sit in. */
const REDACT = [
  '*.token',
  '*.apiKey',
  '*.authorization',
  '*.Authorization',
  'headers.authorization',
  'req.headers.authorization',
  '*.password',
  '*.secret',
];

export function createLogger(opts: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  const options: pino.LoggerOptions = {
    level: opts.level ?? 'info',
    redact: { paths: REDACT, censor: '[redacted]' },
    base: { service: 'patchbay' },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A logger that drops everything, for tests and quiet CLI paths. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
