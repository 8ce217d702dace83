import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileConfig } from '../../src/config/file-schema.js';
import { buildConfig, parseEnv } from '../../src/config/load-config.js';
import { toRepositoryRules } from '../../src/config/repository-rules.js';
import {
  handleReviewDelivery,
  type ReviewDeps,
} from '../../src/integrations/github/handle-review-delivery.js';
import type { ReviewApi } from '../../src/integrations/github/review-api.js';
import { createSilentLogger } from '../../src/lib/logger.js';
import { createConversationDoor } from '../../src/tasks/conversation-door.js';
import { createMemoryConversationStore, createMemoryTaskStore } from '../../src/tasks/memory-stores.js';
import { createManualClock } from '../fakes/manual-clock.js';

const config = buildConfig(parseEnv({}), FileConfig.parse({ repositories: [{ name: 'acme/web' }] }));
const payload = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', 'fixtures', 'github', 'issue_comment_created.json'), 'utf8'),
) as { repository: { full_name: string } };

describe('a review delivery against GitHub’s 10 s', () => {
  it('gives up on look-ups that hang, within its deadline, and queues and reacts to nothing', async () => {
    const calls: string[] = [];
    const clock = createManualClock();
    const never = new Promise<never>(() => undefined);
    const deps: ReviewDeps = {
      tasks: {
        conversations: createConversationDoor({
          store: createMemoryTaskStore(),
          conversations: createMemoryConversationStore(),
          cancel: async () => {
            throw new Error('not reached');
          },
        }),
        submit: async () => {
          calls.push('submit');
          throw new Error('not reached');
        },
      },
      repositories: toRepositoryRules(config),
      api: {
        react: async () => void calls.push('react'),
        getPull: () => never,
        reviewComments: () => never,
        permission: () => never,
      } satisfies ReviewApi,
      botLogin: () => never,
      mayWrite: async () => true,
      background: (what) => void calls.push(what),
      log: createSilentLogger(),
      deadlineMs: 150,
      clock,
    };
    const body = { ...payload, repository: { ...payload.repository, full_name: 'acme/web' } };
    let outcome = 'pending';

    const handled = handleReviewDelivery(deps, { event: 'issue_comment', deliveryId: 'd1', body }).then(
      () => {
        outcome = 'answered';
      },
      (err: Error) => {
        outcome = err.message;
      },
    );
    await clock.waitForTimer(150);
    clock.advance(149);
    await Promise.resolve();
    const justBefore = outcome;
    clock.advance(1);
    await handled;

    expect(justBefore).toBe('pending');
    expect(outcome).toBe('github look-ups took longer than 150 ms');
    expect(calls).toEqual([]);
  });
});
