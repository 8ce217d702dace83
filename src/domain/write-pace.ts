/**
 * GitHub's pace for content-creating writes (POST, PATCH, PUT, DELETE), kept per installation (or
 * per token) by every process of one deployment together: one write at a time, the next no sooner
 * than the gap after the previous one's answer. Reads never pass through it.
 */
export interface WritePace {
  /**
   * Resolves when one write under `key` may go to GitHub (the slot is taken by then). An urgent
   * write (an acknowledgement a person waits for) takes the next slot before waiting ones.
   */
  acquire(key: string, opts: { urgent: boolean }): Promise<WriteSlot>;
  /** GitHub asked to slow down: no write under `key` for `ms`, in any process. */
  holdOff(key: string, ms: number): Promise<void>;
}

/** A write's turn: `release` once GitHub has answered (or the write failed) starts the gap. */
export interface WriteSlot {
  /** When the slot was taken, in ms on the pace's own clock. */
  at: number;
  release(): Promise<void>;
}

/**
 * An urgent write waits at most one gap, and this margin, after the last write of its key *started*,
 * even while that write is still in flight (the margin covers the time between a slot and its
 * request reaching GitHub, so that two starts never come closer than the gap).
 */
export const URGENT_MARGIN_MS = 50;
