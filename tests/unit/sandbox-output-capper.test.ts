import { describe, expect, it } from 'vitest';
import { createOutputCapper, droppedMarker } from '../../src/sandbox/output-capper.js';

function feed(max: number, chunks: string[]): { output: string; droppedBytes: number } {
  const capper = createOutputCapper(max);
  for (const c of chunks) capper.push(Buffer.from(c));
  return capper.finish();
}

describe('createOutputCapper', () => {
  it('keeps everything that fits, in order', () => {
    const res = feed(10, ['abc', 'def', 'ghij']);

    expect(res).toEqual({ output: 'abcdefghij', droppedBytes: 0 });
  });

  it('keeps the head and the tail and counts the dropped middle', () => {
    const res = feed(8, ['0123456789', 'abcdefghij']);

    expect(res.droppedBytes).toBe(12);
    expect(res.output).toBe(`0123${droppedMarker(12)}ghij`);
  });

  it('keeps the right tail when many small chunks wrap around the ring', () => {
    const text = Array.from({ length: 1000 }, (_, i) => String(i % 10)).join('');

    const res = feed(10, text.match(/.{1,3}/g) ?? []);

    expect(res.droppedBytes).toBe(990);
    expect(res.output.startsWith('01234')).toBe(true);
    expect(res.output.endsWith(text.slice(-5))).toBe(true);
  });

  it('handles a single chunk larger than the whole cap', () => {
    const res = feed(4, ['head-middle-tail']);

    expect(res.output).toBe(`he${droppedMarker(12)}il`);
  });

  it('drops everything with a zero cap but still counts', () => {
    const res = feed(0, ['abc']);

    expect(res).toEqual({ output: droppedMarker(3), droppedBytes: 3 });
  });

  it('copies what it keeps, so a reused read buffer cannot change the output', () => {
    const capper = createOutputCapper(4);
    const chunk = Buffer.from('abcdef');

    capper.push(chunk);
    chunk.fill('z');

    expect(capper.finish().output).toBe(`ab${droppedMarker(2)}ef`);
  });

  it('does not keep what it drops: 200 MB through a 1 MiB cap', () => {
    const capper = createOutputCapper(1024 * 1024);
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const before = process.memoryUsage().arrayBuffers;

    for (let i = 0; i < (200 * 1024 * 1024) / chunk.length; i++) capper.push(chunk);
    const grown = process.memoryUsage().arrayBuffers - before;
    const res = capper.finish();

    expect(grown).toBeLessThan(32 * 1024 * 1024);
    expect(res.droppedBytes).toBe(200 * 1024 * 1024 - 1024 * 1024);
  });
});
