import { describe, expect, it } from 'vitest';
import { createThrottledEdits } from '../../src/lib/throttled-edits.js';
import { createManualClock } from '../fakes/manual-clock.js';

/** A status message whose sends are recorded with the clock's time, behind one call chain. */
function aStatusMessage(opts: { intervalMs?: number; failing?: () => boolean } = {}) {
  const clock = createManualClock(0);
  const sends: Array<{ text: string; at: number; ok: boolean }> = [];
  /** Everything that went through the chain, in order. */
  const order: string[] = [];
  let chain: Promise<void> = Promise.resolve();
  const enqueue = (work: () => Promise<void>) => {
    chain = chain.then(work).catch(() => undefined);
    return chain;
  };
  const edits = createThrottledEdits({
    clock,
    intervalMs: opts.intervalMs ?? 400,
    enqueue,
    async send(text) {
      const ok = !opts.failing?.();
      sends.push({ text, at: clock.now(), ok });
      order.push(`send ${text}`);
      if (!ok) throw new Error('message gone');
    },
  });
  /** Resolves once everything queued so far ran. */
  const settled = async () => {
    let seen: Promise<void> | undefined;
    while (seen !== chain) {
      seen = chain;
      await seen;
    }
  };
  return { clock, sends, order, edits, enqueue, settled };
}

describe('throttled edits of a status message', () => {
  it('sends the first text at once, then at most one edit per interval with the latest text', async () => {
    const { clock, sends, edits, settled } = aStatusMessage();

    edits.update('step 0');
    await settled();
    for (let n = 1; n <= 30; n += 1) {
      edits.update(`step ${n}`);
      await settled();
      clock.advance(20);
      await settled();
    }

    expect(sends).toEqual([
      { text: 'step 0', at: 0, ok: true },
      { text: 'step 20', at: 400, ok: true },
    ]);
    expect(clock.pending()).toEqual([200]); // step 30 waits for the slot at 800
  });

  it('sends the final text at once, dropping the progress that waited for its slot', async () => {
    const { clock, sends, edits, settled } = aStatusMessage();
    edits.update('step 1');
    await settled();
    edits.update('step 2');

    await edits.final('done');
    clock.advance(10_000);
    await settled();

    expect(sends.map((s) => `${s.text}@${s.at}`)).toEqual(['step 1@0', 'done@0']);
    expect(clock.pending()).toEqual([]);
  });

  it('never lets a queued send overtake another call queued before it', async () => {
    const { order, edits, enqueue, settled } = aStatusMessage();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    void enqueue(() => gate.then(() => void order.push('reply')));

    edits.update('step 1');
    const done = edits.final('done');
    release();
    await done;
    await settled();

    expect(order).toEqual(['reply', 'send done']);
  });

  it('skips a text already shown, and sends what waits for its slot on flushNow', async () => {
    const { clock, sends, edits, settled } = aStatusMessage();
    edits.update('step 1');
    await settled();
    edits.update('step 1');
    await settled();
    edits.update('step 2');

    edits.flushNow();
    await settled();

    expect(sends.map((s) => `${s.text}@${s.at}`)).toEqual(['step 1@0', 'step 2@0']);
    expect(clock.pending()).toEqual([]);
  });

  it('drops waiting progress on stop, and still sends the final state', async () => {
    const { clock, sends, edits, settled } = aStatusMessage();
    edits.update('step 1');
    await settled();
    edits.update('step 2');

    edits.stop();
    edits.update('step 3');
    clock.advance(10_000);
    await settled();
    await edits.final('done');

    expect(sends.map((s) => s.text)).toEqual(['step 1', 'done']);
  });

  it('retries a failing message a few times, one interval apart, then leaves it until new progress', async () => {
    let failing = false;
    const { clock, sends, edits, settled } = aStatusMessage({ failing: () => failing });
    edits.update('step 1');
    await settled();
    failing = true;
    edits.update('step 2');

    for (let i = 0; i < 5; i += 1) {
      clock.advance(400);
      await settled();
    }
    const whileFailing = sends.map((s) => `${s.text}@${s.at}:${s.ok ? 'ok' : 'failed'}`);
    failing = false;
    edits.update('step 3');
    await settled();

    expect(whileFailing).toEqual([
      'step 1@0:ok',
      'step 2@400:failed',
      'step 2@800:failed',
      'step 2@1200:failed',
    ]);
    expect(sends.at(-1)).toEqual({ text: 'step 3', at: 2_000, ok: true });
  });

  it('waits for the next slot when progress comes in while a send is on its way', async () => {
    const { clock, sends, edits, settled } = aStatusMessage();
    edits.update('step 1');
    edits.update('step 2'); // the send of step 1 is queued, not started: it takes step 2
    await settled();
    edits.update('step 3');
    await settled();

    expect(sends.map((s) => s.text)).toEqual(['step 2']);
    expect(clock.pending()).toEqual([400]);
    clock.advance(399);
    await settled();
    expect(sends).toHaveLength(1);
    clock.advance(1);
    await settled();
    expect(sends.map((s) => `${s.text}@${s.at}`)).toEqual(['step 2@0', 'step 3@400']);
  });
});
