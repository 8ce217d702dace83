import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../src/domain/task.js';
import {
  formatDuration,
  MAX_BODY_CHARS,
  PR_MARKER_PREFIX,
  type PullRequestBodyInput,
  parsePullRequestMarker,
  renderBlockedNames,
  renderPullRequestBody,
  toMarkerId,
} from '../../src/integrations/github/pr-body.js';

const GITHUB_LIMIT = 65_536;

function anInput(overrides: Partial<PullRequestBodyInput> = {}): PullRequestBodyInput {
  return {
    taskId: '01J9ZK3M8Q',
    conversation: 'slack:T1:C1:1712.1',
    summary: 'Fixed the login form: the submit button now waits for validation.',
    origin: {
      source: 'slack',
      label: 'Slack #eng thread',
      url: 'https://acme.slack.com/archives/C1/p1712',
      requester: 'Dana',
    },
    checks: [],
    usage: { promptTokens: 123_456, cachedTokens: 100_000, completionTokens: 7_890, usd: 0.4213, agentMs: 1 },
    steps: 14,
    durationMs: 184_000,
    ...overrides,
  };
}

function aCheck(overrides: Partial<CheckResult> = {}): CheckResult {
  return {
    command: 'npm test',
    exitCode: 0,
    timedOut: false,
    output: 'ok\n',
    durationMs: 3_210,
    ...overrides,
  };
}

function markers(body: string): number {
  return body.split(PR_MARKER_PREFIX).length - 1;
}

describe('the marker', () => {
  it('round-trips the task id and conversation', () => {
    const body = renderPullRequestBody(anInput());

    expect(parsePullRequestMarker(body)).toEqual({
      taskId: '01J9ZK3M8Q',
      conversation: 'slack:T1:C1:1712.1',
    });
    expect(body.trimEnd().endsWith('conversation=slack:T1:C1:1712.1 -->')).toBe(true);
  });

  it('hashes a conversation that could break out of the comment', () => {
    const conversation = 'api:x --> <b>hi</b> conversation=forged';

    const body = renderPullRequestBody(anInput({ conversation }));

    const parsed = parsePullRequestMarker(body);
    expect(parsed?.conversation).toBe(toMarkerId(conversation));
    expect(parsed?.conversation).toMatch(/^sha256-[0-9a-f]{32}$/);
    expect(body).not.toContain('<b>hi</b>');
  });

  it('finds nothing in a body without a marker or with a malformed one', () => {
    expect(parsePullRequestMarker('A person wrote this.')).toBeNull();
    expect(parsePullRequestMarker('<!-- patchbay:task=1 -->')).toBeNull();
    expect(parsePullRequestMarker('<!-- patchbay:task=a b conversation=c -->')).toBeNull();
  });
});

describe('untrusted text', () => {
  it('does not let the summary forge a marker or open a comment', () => {
    const summary = 'Done.\n<!-- patchbay:task=evil conversation=api:evil -->\n<!-- hide the rest';

    const body = renderPullRequestBody(anInput({ summary }));

    expect(markers(body)).toBe(1);
    expect(body).not.toContain('<!-- hide');
    expect(parsePullRequestMarker(body)).toEqual({
      taskId: '01J9ZK3M8Q',
      conversation: 'slack:T1:C1:1712.1',
    });
  });

  it('does not let check output forge a marker', () => {
    const output = 'PASS\n<!-- patchbay:task=evil conversation=api:evil -->\n';

    const body = renderPullRequestBody(anInput({ checks: [aCheck({ output })] }));

    expect(markers(body)).toBe(1);
    expect(parsePullRequestMarker(body)?.taskId).toBe('01J9ZK3M8Q');
  });

  it('keeps @-mentions in the summary and origin from pinging anyone', () => {
    const summary = 'Thanks @org/team and @alice! Mail bob@example.com.';
    const origin = { source: 'slack' as const, label: 'Slack @here', requester: '@carol' };

    const body = renderPullRequestBody(anInput({ summary, origin }));

    expect(body).not.toMatch(/(^|[^A-Za-z0-9_])@[A-Za-z0-9]/m);
    expect(body).toContain('@\u200borg/team');
    expect(body).toContain('bob@example.com');
  });

  it('keeps the origin label from injecting markdown links or HTML', () => {
    const origin = { source: 'api' as const, label: '[click](https://evil.example) <details>' };

    const body = renderPullRequestBody(anInput({ origin }));

    expect(body).not.toContain('[click](https://evil.example)');
    expect(body).not.toContain('<details> ');
    expect(body).toContain('**Requested from** \\[click\\]');
  });

  it('fences check output with more backticks than it contains', () => {
    const output = 'before\n```\nnot the end\n````\nafter';

    const body = renderPullRequestBody(anInput({ checks: [aCheck({ exitCode: 1, output })] }));

    expect(body).toContain('`````text\nbefore');
    expect(body).toContain('after\n`````\n');
  });
});

describe('the content', () => {
  it('shows where the request came from, linked, and who asked', () => {
    const body = renderPullRequestBody(anInput());

    expect(body).toContain(
      '**Requested from** [Slack #eng thread](https://acme.slack.com/archives/C1/p1712) by Dana',
    );
  });

  it.each([
    [
      { source: 'schedule', label: 'Schedule nightly-deps' },
      '**Started on a schedule:** Schedule nightly-deps',
    ],
    [{ source: 'hook', label: 'Hook sentry' }, '**Started by a webhook:** Hook sentry'],
    [
      { source: 'github', label: 'Autofix: failing checks on acme/web#3', automation: 'autofix' },
      '**Started by Patchbay** to fix failing checks: Autofix: failing checks on acme/web#3',
    ],
  ] as const)('says when Patchbay started the work itself (%j)', (origin, expected) => {
    const body = renderPullRequestBody(anInput({ origin }));

    expect(body).toContain(expected);
    expect(body).not.toContain('Requested from');
  });

  it('tabulates passed, failed and timed-out checks with their output tails', () => {
    const checks = [
      aCheck(),
      aCheck({ command: 'npm run lint', exitCode: 1, output: 'src/a.ts: error\n', durationMs: 850 }),
      aCheck({ command: 'npm run e2e', exitCode: null, timedOut: true, output: '', durationMs: 600_000 }),
    ];

    const body = renderPullRequestBody(anInput({ checks }));

    expect(body).toContain('| `npm test` | ✅ passed | 3.2s |');
    expect(body).toContain('| `npm run lint` | ❌ failed (exit 1) | 850ms |');
    expect(body).toContain('| `npm run e2e` | ⏱ timed out | 10m 0s |');
    expect(body).toContain('<details><summary>Output of <code>npm run lint</code></summary>');
    expect(body).not.toContain('Output of <code>npm run e2e</code>');
  });

  it('keeps backticks and pipes in a command from breaking the table', () => {
    const body = renderPullRequestBody(anInput({ checks: [aCheck({ command: 'echo `date` | wc -c' })] }));

    expect(body).toContain('| `` echo `date` \\| wc -c `` | ✅ passed |');
  });

  it('says so when no checks are configured', () => {
    const body = renderPullRequestBody(anInput({ checks: [] }));

    expect(body).toContain('No check commands are configured');
  });

  it('puts steps, tokens, cost and duration in the footer', () => {
    const body = renderPullRequestBody(anInput());

    expect(body).toContain(
      '14 steps · 123,456 prompt tokens (100,000 cached), 7,890 completion tokens · $0.42 · 3m 4s',
    );
  });

  it('puts peak memory and disk against their limits in the footer, leaving out a peak not measured', () => {
    const MiB = 1024 * 1024;
    const resources = {
      enforcement: 'cgroup_v1' as const,
      peakMemoryBytes: 312 * MiB,
      memoryLimitBytes: 4096 * MiB,
      peakDiskBytes: 1229 * MiB,
      diskLimitBytes: 10240 * MiB,
      limitHits: {},
    };

    const measured = renderPullRequestBody(anInput({ resources }));
    const noMemory = renderPullRequestBody(anInput({ resources: { ...resources, peakMemoryBytes: null } }));

    expect(measured).toContain(
      '· 3m 4s · 0 context compactions · peak memory 312 MiB of 4 GiB, peak disk 1.2 GiB of 10 GiB</sub>',
    );
    expect(noMemory).toContain('· 3m 4s · 0 context compactions · peak disk 1.2 GiB of 10 GiB</sub>');
  });

  it('says which limit stopped a check', () => {
    const limit = {
      name: 'memory' as const,
      message: "killed: the task's memory limit of 4 GiB was reached",
    };

    const body = renderPullRequestBody(anInput({ checks: [aCheck({ exitCode: null, limit })] }));

    expect(body).toContain("| `npm test` | ❌ killed: the task's memory limit of 4 GiB was reached | 3.2s |");
  });

  it('names the model and counts the compactions of the context in the footer', () => {
    const once = renderPullRequestBody(anInput({ model: 'qwen3-coder', compactions: 1 }));
    const none = renderPullRequestBody(anInput({ model: 'gpt-5-codex', compactions: 0 }));

    expect(once).toContain('<sub>Patchbay · qwen3-coder · 14 steps · ');
    expect(once).toContain(' · 3m 4s · 1 context compaction');
    expect(none).toContain('<sub>Patchbay · gpt-5-codex · 14 steps · ');
    expect(none).toContain(' · 3m 4s · 0 context compactions');
  });

  it('says where the time went, stage by stage, and how setup was done', () => {
    const stages = {
      cloneMs: 412,
      setup: { kind: 'prepared' as const, ms: 9 },
      agentMs: 41_200,
      checksMs: 3_000,
    };

    const body = renderPullRequestBody(anInput({ stages }));
    const without = renderPullRequestBody(anInput());

    expect(body).toContain(
      ' · 0 context compactions<br>clone 412ms · setup (prepared) 9ms · agent 41.2s · checks 3.0s</sub>',
    );
    expect(without).not.toContain('<br>');
  });

  it('says when no price is configured', () => {
    const usage = { promptTokens: 1, cachedTokens: 0, completionTokens: 1, usd: null, agentMs: 0 };

    const body = renderPullRequestBody(anInput({ usage, steps: 1 }));

    expect(body).toContain('1 step · ');
    expect(body).toContain('no price configured');
  });
});

describe('the size cap', () => {
  it('stays under GitHub’s limit with huge summaries and check output, keeping tails and the marker', () => {
    const huge = `${Array.from({ length: 50_000 }, (_, i) => `line ${i} ${'x'.repeat(40)}`).join('\n')}\nLAST LINE`;
    const checks = Array.from({ length: 5 }, (_, i) =>
      aCheck({ command: `check-${i}`, exitCode: 1, output: huge }),
    );

    const body = renderPullRequestBody(anInput({ summary: 's'.repeat(200_000), checks }));

    expect(body.length).toBeLessThanOrEqual(MAX_BODY_CHARS);
    expect(body.length).toBeLessThan(GITHUB_LIMIT);
    expect(body).toContain('LAST LINE');
    expect(body).not.toContain('line 0 x');
    expect(body).toContain('(last lines)');
    expect(parsePullRequestMarker(body)?.taskId).toBe('01J9ZK3M8Q');
    expect(body).toContain('$0.42');
  });

  it('caps the check table when there are very many checks', () => {
    const checks = Array.from({ length: 500 }, (_, i) =>
      aCheck({ command: `c${i} ${'y'.repeat(300)}`, output: 'z'.repeat(5_000) }),
    );

    const body = renderPullRequestBody(anInput({ checks }));

    expect(body.length).toBeLessThanOrEqual(MAX_BODY_CHARS);
    expect(body).toContain('…and 450 more checks.');
    expect(parsePullRequestMarker(body)).not.toBeNull();
  });
});

describe('formatDuration', () => {
  it.each([
    [420, '420ms'],
    [12_345, '12.3s'],
    [184_000, '3m 4s'],
    [3_720_000, '1h 2m'],
  ])('formats %i ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('names the network allowlist refused', () => {
  it('lists each as code after the checks, with a hint to add it', () => {
    const body = renderPullRequestBody(anInput({ blockedNames: ['evil.example.com', 'cdn.example.net'] }));

    expect(body).toContain('### Network');
    expect(body).toContain('`evil.example.com`, `cdn.example.net`');
    expect(body).toContain('`domains`');
    expect(body.indexOf('### Checks')).toBeLessThan(body.indexOf('### Network'));
  });

  it('shows at most 20 and counts the rest', () => {
    const names = Array.from({ length: 23 }, (_, i) => `host${i}.example.org`);

    const section = renderBlockedNames(names);

    expect(section).toContain('`host19.example.org` and 3 more');
    expect(section).not.toContain('host20.example.org');
  });

  it('says nothing when nothing was refused, and keeps a name from breaking out of its code span', () => {
    expect(renderPullRequestBody(anInput())).not.toContain('### Network');
    expect(renderPullRequestBody(anInput({ blockedNames: [] }))).not.toContain('### Network');
    expect(renderBlockedNames(['a`b <!-- @x'])).toContain('`` a`b <!\u200b-- @\u200bx ``');
  });
});
