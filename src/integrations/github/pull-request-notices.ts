import type { PlaceNotices } from '../../domain/events.js';
import type { Logger } from '../../lib/logger.js';
import type { PullRequestCommenter } from './github-reporter.js';
import { neutralise } from './pr-body.js';

/**
 * Notices on pull requests (an autofix starting or giving up, a schedule pausing): one comment each,
 * neutralised like every comment Patchbay writes, so that it mentions nobody and forges no marker.
 */
export function createPullRequestNotices(deps: { pulls: PullRequestCommenter; log: Logger }): PlaceNotices {
  return {
    kinds: ['github-pull'],
    async tell(places, text) {
      for (const place of places) {
        if (place.kind !== 'github-pull') continue;
        try {
          await deps.pulls.comment(place.repo, place.number, neutralise(text));
        } catch (err) {
          deps.log.warn({ pr: place.number, err: (err as Error).message }, 'could not tell the pull request');
        }
      }
    },
  };
}
