/**
 * GitHub's pace for content-creating writes (POST, PATCH, PUT, DELETE), kept per installation (or
 * per token) by every process of one deployment together. Reads never pass through it.
 */
export interface WritePace {
  /**
   * Resolves when one write under `key` may go to GitHub (the slot is taken by then). An urgent
   * write (an acknowledgement a person waits for) takes the next slot before waiting ones. Resolves
   * with the slot's time (ms) on the pace's own clock.
   */
  acquire(key: string, opts: { urgent: boolean }): Promise<number>;
  /** GitHub asked to slow down: no write under `key` for `ms`, in any process. */
  holdOff(key: string, ms: number): Promise<void>;
}
