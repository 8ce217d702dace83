import type { CancelTimer, Clock } from '../../src/lib/clock.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

/** A clock that stands still until the test moves it: timers fire only inside `advance`. */
export interface ManualClock extends Clock {
  /** Moves time on by `ms`, firing every timer due by then at its own time, soonest first. */
  advance(ms: number): void;
  /** How far from now each waiting timer is, soonest first. */
  pending(): number[];
  /** Resolves once a timer `ms` from now waits (any timer, without `ms`); at once if one already does. */
  waitForTimer(ms?: number): Promise<void>;
}

export function createManualClock(start = Date.now()): ManualClock {
  let now = start;
  let seq = 0;
  let timers: Timer[] = [];
  const watchers: Array<{ matches: () => boolean; resolve: () => void }> = [];

  const due = (ms: number | undefined) => () => timers.some((t) => ms === undefined || t.at - now === ms);
  function notify(): void {
    for (const w of [...watchers]) {
      if (!w.matches()) continue;
      watchers.splice(watchers.indexOf(w), 1);
      w.resolve();
    }
  }

  return {
    now: () => now,
    setTimer(fn, ms): CancelTimer {
      const timer = { at: now + Math.max(0, ms), seq: seq++, fn };
      timers.push(timer);
      notify();
      return () => {
        timers = timers.filter((t) => t !== timer);
      };
    },
    advance(ms) {
      const until = now + ms;
      for (;;) {
        const next = timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
        if (!next) break;
        timers = timers.filter((t) => t !== next);
        now = Math.max(now, next.at);
        next.fn();
      }
      now = until;
    },
    pending: () => timers.map((t) => t.at - now).sort((a, b) => a - b),
    waitForTimer(ms) {
      const matches = due(ms);
      if (matches()) return Promise.resolve();
      return new Promise((resolve) => watchers.push({ matches, resolve }));
    },
  };
}
