import { describe, expect, it } from 'vitest';
import { createWriteAccess } from '../../src/integrations/github/write-access.js';
import { createSilentLogger } from '../../src/lib/logger.js';
import { createManualClock } from '../fakes/manual-clock.js';

describe('write access on GitHub', () => {
  it('allows admin, maintain and write, remembers answers for a minute, and forgets failures', async () => {
    const clock = createManualClock(0);
    const asked: string[] = [];
    const roles: Record<string, string> = {
      ada: 'admin',
      max: 'maintain',
      wes: 'write',
      tom: 'triage',
      rob: 'read',
    };
    const mayWrite = createWriteAccess({
      permission: async (_repo, login) => {
        asked.push(login);
        if (login === 'flaky' && asked.filter((l) => l === 'flaky').length === 1) throw new Error('502');
        return roles[login] ?? 'none';
      },
      log: createSilentLogger(),
      clock,
    });

    const first = await Promise.all(
      ['ada', 'max', 'wes', 'tom', 'rob', 'ada'].map((l) => mayWrite('acme/web', l)),
    );
    clock.advance(30_000);
    await mayWrite('acme/web', 'ada');
    clock.advance(31_000);
    await mayWrite('acme/web', 'ada');
    const failed = await mayWrite('acme/web', 'flaky').catch(() => 'error');
    const retried = await mayWrite('acme/web', 'flaky');

    expect(first).toEqual([true, true, true, false, false, true]);
    expect(asked.filter((l) => l === 'ada')).toHaveLength(2);
    expect(failed).toBe('error');
    expect(retried).toBe(false);
  });
});
