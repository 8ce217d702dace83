import type { PlaceNotices } from '../../domain/events.js';
import type { Logger } from '../../lib/logger.js';
import type { LinearApis } from './linear-reporter.js';
import { isLinearTarget } from './linear-targets.js';

/**
 * Notices on Linear issues (an autofix on the issue's pull request starting or giving up, a
 * schedule pausing): a comment on the issue, through the API of the place's mode. Comments pass
 * through `toInertMarkdown` in the API, as every comment does.
 */
export function createLinearNotices(deps: { apis: LinearApis; log: Logger }): PlaceNotices {
  return {
    kinds: ['linear-session', 'linear-issue'],
    async tell(places, text) {
      // One comment per issue, however many of its sessions hear the task.
      const issues = new Map(places.filter(isLinearTarget).map((p) => [p.issueId, p]));
      for (const place of issues.values()) {
        const api =
          place.kind === 'linear-issue' ? deps.apis.assignment : deps.apis.agent(place.organizationId);
        try {
          await api?.createComment({ issueId: place.issueId, body: text });
        } catch (err) {
          deps.log.warn(
            { issueId: place.issueId, err: (err as Error).message },
            'could not tell the linear issue',
          );
        }
      }
    },
  };
}
