import { URGENT_MARGIN_MS, type WritePace } from '../../domain/write-pace.js';
import type { Logger } from '../../lib/logger.js';

const HOUR_MS = 3_600_000;

/**
 * The write pace within one process (`patchbay run`, or when Redis cannot be asked): the same rules
 * as the shared pace (one write at a time, the gap after each answer, an urgent write first and
 * never more than one gap and the margin after the last start, at most `perHour` starts in any
 * hour), kept in memory.
 */
export function createLocalWritePace(gapMs: number, perHour = 0, clock = Date.now): WritePace {
  interface State {
    next: number;
    hold: number;
    started: number;
    busy: boolean;
    urgentWaiting: number;
    starts: number[];
  }
  const states = new Map<string, State>();
  const stateOf = (key: string) => {
    let state = states.get(key);
    if (!state) {
      state = { next: 0, hold: 0, started: 0, busy: false, urgentWaiting: 0, starts: [] };
      states.set(key, state);
    }
    return state;
  };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  function waitFor(state: State, urgent: boolean, now: number): number {
    let wait: number;
    if (urgent) {
      const afterAnswer = state.busy ? Number.POSITIVE_INFINITY : state.next - now;
      const afterStart = state.started > 0 ? state.started + gapMs + URGENT_MARGIN_MS - now : Infinity;
      wait = Math.max(state.hold - now, Math.min(afterAnswer, afterStart));
      if (!Number.isFinite(wait)) wait = gapMs;
    } else {
      wait = Math.max(state.next, state.hold) - now;
      if (state.busy) wait = Math.max(wait, 10);
      if (wait <= 0 && state.urgentWaiting > 0) wait = 10;
    }
    if (state.started > 0) wait = Math.max(wait, state.started + gapMs - now);
    if (perHour > 0) {
      state.starts = state.starts.filter((at) => at > now - HOUR_MS);
      const oldest = state.starts[0];
      if (oldest !== undefined && state.starts.length >= perHour)
        wait = Math.max(wait, oldest + HOUR_MS - now + 1);
    }
    return wait;
  }

  return {
    async acquire(key, { urgent }) {
      if (gapMs <= 0) return { at: clock(), release: async () => undefined };
      const state = stateOf(key);
      if (urgent) state.urgentWaiting += 1;
      try {
        for (;;) {
          const now = clock();
          const wait = waitFor(state, urgent, now);
          if (wait <= 0) {
            const holds = !state.busy;
            state.busy = true;
            state.started = now;
            if (perHour > 0) state.starts.push(now);
            const release = async () => {
              if (!holds) return;
              state.busy = false;
              state.next = Math.max(state.next, clock() + gapMs);
            };
            return { at: now, release };
          }
          await sleep(Math.min(wait, 2_000));
        }
      } finally {
        if (urgent) state.urgentWaiting -= 1;
      }
    },
    async holdOff(key, ms) {
      const state = stateOf(key);
      state.hold = Math.max(state.hold, clock() + ms);
    },
  };
}

/**
 * The shared pace, or this process's own while Redis does not answer: a GitHub write is not refused
 * because its limiter is unreachable (the queue itself notices Redis soon enough).
 */
export function withLocalFallback(shared: WritePace, local: WritePace, log: Logger): WritePace {
  const warn = (err: unknown) =>
    log.warn(
      { err: err instanceof Error ? err.message : String(err) },
      'github write pace unreachable, pacing locally',
    );
  return {
    acquire: (key, opts) =>
      shared.acquire(key, opts).catch((err) => {
        warn(err);
        return local.acquire(key, opts);
      }),
    holdOff: (key, ms) =>
      shared.holdOff(key, ms).catch((err) => {
        warn(err);
        return local.holdOff(key, ms);
      }),
  };
}
