import { describe, expect, it } from 'vitest';
import { isFinal, REPO } from '../fakes/harness.js';
import { FIX_GREETING } from '../fakes/scripts.js';
import { slackPerTest } from '../fakes/slack-per-test.js';
import { eventually } from '../fakes/slack-requests.js';

const startSlack = slackPerTest();
const PUBLIC_URL = 'https://patchbay.acme.example';

describe('links to the task page', () => {
  it('links the Slack status message, the pull request and the API answer to the task page', async () => {
    const { h, mention, posts } = await startSlack(FIX_GREETING, {
      env: { PATCHBAY_PUBLIC_URL: PUBLIC_URL },
    });

    const { ts } = await mention(`fix the greeting in ${REPO}`);
    const id = /task `(t[0-9a-z]+)`/.exec((await eventually(() => posts(ts)[0])).args.text ?? '')?.[1] ?? '';
    const task = await h.waitFor(id, isFinal);
    const page = `${PUBLIC_URL}/tasks/${id}`;
    const status = await eventually(() =>
      posts(ts).find((p) => p.args.text?.includes(`task \`${id}\``) && p.args.text.includes('task page')),
    );

    expect(task.status).toBe('succeeded');
    expect((task as { pageUrl?: string }).pageUrl).toBe(page);
    expect(status.args.text).toContain(`<${page}|task page>`);
    expect(h.github.pulls[0]?.body).toContain(`[task page](${page})`);
  });

  it('links nothing and says so once at start-up when PATCHBAY_PUBLIC_URL is not set', async () => {
    const { h } = await startSlack(FIX_GREETING);

    const created = await h.createTask({ instruction: 'fix the greeting' });
    const task = await h.waitFor(created.body.id, isFinal);

    expect((task as { pageUrl?: string }).pageUrl).toBeUndefined();
    expect(h.github.pulls[0]?.body).not.toContain('/tasks/');
    expect(h.logLines.filter((l) => l.includes('PATCHBAY_PUBLIC_URL is not set'))).toHaveLength(1);
  });
});
