import { describe, expect, it } from 'vitest';
import { runDemo } from '../../src/demo/run-demo.js';
import { REDIS_URL } from '../fakes/redis.js';

describe('npm run demo', () => {
  it('opens a pull request, then takes a review comment as a follow-up with a new commit and a reply', async () => {
    let printed = '';
    const out = { write: (text: string) => (printed += text) };

    const ok = await runDemo({ env: { REDIS_URL }, out });

    expect(ok).toBe(true);
    expect(printed).toMatch(/pull request #1 \(draft\) patchbay\/\S+ → main/);
    expect(printed).toContain("+    .replace(/^-+|-+$/g, '');");
    expect(printed).toContain('POST /github/webhook (issue_comment) → 200');
    expect(printed).toContain('👀 on the comment');
    expect(printed).toMatch(/Patchbay's reply on the pull request:\n-+\n✅ \*\*Done\.\*\*/);
    expect(printed).toMatch(/commit [0-9a-f]+ Test slugify on punctuation only/);
    expect(printed).toMatch(/Task page: {2}http:\/\/127\.0\.0\.1:\d+\/tasks\/t[0-9a-z]+/);
    expect(printed).toMatch(
      /Sign in at http:\/\/127\.0\.0\.1:\d+\/login with the operator token [0-9a-f]{32}/,
    );
    expect(printed).toContain("+assert.equal(slugify('?!...'), '');");
  }, 120_000);
});
