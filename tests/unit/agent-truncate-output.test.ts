import { describe, expect, it } from 'vitest';
import { truncateOutput } from '../../src/agent/truncate-output.js';

describe('truncateOutput', () => {
  it('leaves short output alone', () => {
    expect(truncateOutput('x'.repeat(10_000))).toBe('x'.repeat(10_000));
  });

  it('keeps 5,000 characters of head and tail and counts what was cut', () => {
    const text = `${'h'.repeat(5_000)}${'m'.repeat(2_345)}${'t'.repeat(5_000)}`;

    const out = truncateOutput(text);

    expect(out).toBe(`${'h'.repeat(5_000)}\n[… 2345 characters cut …]\n${'t'.repeat(5_000)}`);
  });

  it('honours custom sizes', () => {
    expect(truncateOutput('abcdefghij', { headChars: 2, tailChars: 3 })).toBe(
      'ab\n[… 5 characters cut …]\nhij',
    );
  });

  it('never splits a surrogate pair', () => {
    const text = `a😀${'x'.repeat(10)}😀b`;

    const out = truncateOutput(text, { headChars: 2, tailChars: 2 });

    expect(out).toBe('a\n[… 14 characters cut …]\nb');
    expect(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(out)).toBe(false);
  });
});
