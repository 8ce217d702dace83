import type { TaskStage } from '../../domain/events.js';
import type { PlanStep } from './linear-api.js';

export const PLAN_STAGES: readonly TaskStage[] = ['clone', 'setup', 'agent', 'checks', 'pull_request'];

const LABELS: Record<TaskStage, string> = {
  clone: 'Clone the repository',
  setup: 'Run the setup commands',
  agent: 'Work on the change',
  checks: 'Run the checks',
  pull_request: 'Open or update the pull request',
};

/**
 * The session's plan at a stage of the run: the stages before it completed, it in progress, the rest
 * pending. A finished run has every stage completed (the pull request canceled when nothing changed);
 * a failed or stopped one has the stage it ended in and the rest canceled.
 */
export function toPlan(
  current: TaskStage,
  phase: 'running' | 'finished' | 'failed',
  opts: { pullRequest?: boolean } = {},
): PlanStep[] {
  const at = PLAN_STAGES.indexOf(current);
  return PLAN_STAGES.map((stage, i) => {
    const content = LABELS[stage];
    if (phase === 'finished') {
      const skipped = stage === 'pull_request' && !opts.pullRequest;
      return { content, status: skipped ? 'canceled' : 'completed' };
    }
    if (i < at) return { content, status: 'completed' };
    if (phase === 'failed') return { content, status: 'canceled' };
    return { content, status: i === at ? 'inProgress' : 'pending' };
  });
}
