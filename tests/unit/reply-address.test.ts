import { describe, expect, it } from 'vitest';
import { legacyAddress, legacyAudience } from '../../src/domain/legacy-audience.js';
import { addressKey, audienceOf, type ReplyAddress } from '../../src/domain/reply-address.js';

const thread: ReplyAddress = {
  kind: 'slack-thread',
  team: 'T1',
  channel: 'C1',
  threadTs: '1.1',
  messageTs: '1.1',
};
const session: ReplyAddress = { kind: 'linear-session', sessionId: 's1', issueId: 'i1' };
const issue: ReplyAddress = { kind: 'linear-issue', issueId: 'i1' };
const pull: ReplyAddress = { kind: 'github-pull', repo: 'Acme/Web', number: 7 };

describe('reply addresses', () => {
  it('names a place by what it is, not by the message that asked there', () => {
    expect(addressKey({ ...thread, messageTs: '2.2' })).toBe(addressKey(thread));
    expect(addressKey({ ...pull, repo: 'acme/web' })).toBe(addressKey(pull));
    expect(addressKey(session)).not.toBe(addressKey(issue));
  });

  it('makes a new task heard where it was asked, and where its conversation began in another integration', () => {
    expect(audienceOf(pull, thread)).toEqual([pull, thread]);
    expect(audienceOf(pull, session)).toEqual([pull, session]);
    expect(audienceOf(issue, session)).toEqual([issue]);
    expect(audienceOf({ ...thread, messageTs: '3.3' }, thread)).toEqual([{ ...thread, messageTs: '3.3' }]);
    expect(audienceOf(undefined, thread)).toEqual([]);
    expect(audienceOf(thread, undefined)).toEqual([thread]);
  });
});

describe('what the previous version stored', () => {
  const oldSlack = {
    source: 'slack',
    label: 'Slack #eng',
    ref: { team: 'T1', channel: 'C1', thread_ts: '1.1', message_ts: '1.1', user: 'U1' },
  };

  it('reads each kind of old origin as the address it pointed at', () => {
    expect(legacyAddress(oldSlack, 'acme/web')).toEqual(thread);
    expect(
      legacyAddress(
        { source: 'linear', label: 'Linear ENG-1', ref: { mode: 'agent', issueId: 'i1', sessionId: 's1' } },
        'acme/web',
      ),
    ).toEqual(session);
    expect(
      legacyAddress({ source: 'linear', label: 'x', ref: { mode: 'assignment', issueId: 'i1' } }, 'acme/web'),
    ).toEqual(issue);
    expect(legacyAddress({ source: 'github', label: 'x', ref: { pr: '7' } }, 'Acme/Web')).toEqual(pull);
    expect(legacyAddress({ source: 'api', label: 'HTTP API', ref: {} }, 'acme/web')).toBeUndefined();
    expect(legacyAddress({ source: 'github', label: 'x', ref: { pr: 'nope' } }, 'acme/web')).toBeUndefined();
  });

  it('reads an old task’s origin, its alsoNotify and Linear’s attached places, each once', () => {
    const record = {
      request: {
        repo: 'acme/web',
        origin: {
          source: 'linear',
          label: 'Linear ENG-1',
          ref: { mode: 'agent', issueId: 'i1', sessionId: 's1' },
        },
        alsoNotify: oldSlack,
      },
    };
    const attached = [
      { kind: 'issue', issueId: 'i1' },
      { kind: 'session', sessionId: 's1' },
      { kind: 'session', sessionId: 's2', organizationId: 'o1' },
      { garbage: true },
    ];

    expect(legacyAudience(record, attached)).toEqual([
      session,
      thread,
      issue,
      { kind: 'linear-session', sessionId: 's2', issueId: 'i1', organizationId: 'o1' },
    ]);
    expect(legacyAudience({ request: { repo: 'acme/web', origin: { source: 'api' } } }, null)).toEqual([]);
  });
});
