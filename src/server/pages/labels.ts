import type { TaskStatus } from '../../domain/task.js';
import type { TaskSource } from '../../domain/task-request.js';
import type { TimelineStage } from '../../domain/timeline.js';

/** Words the pages show for the domain's names (the page's script has the same ones). */
export const STATUS_LABELS: Record<TaskStatus | 'retrying' | 'interrupted', string> = {
  queued: 'Queued',
  running: 'Running',
  waiting_for_input: 'Waiting for input',
  succeeded: 'Succeeded',
  failed: 'Failed',
  cancelled: 'Cancelled',
  retrying: 'Will retry',
  interrupted: 'Interrupted',
};

export const STAGES: readonly TimelineStage[] = ['clone', 'setup', 'agent', 'checks', 'pull_request'];

export const STAGE_LABELS: Record<TimelineStage, string> = {
  clone: 'Clone',
  setup: 'Setup',
  agent: 'Agent',
  checks: 'Checks',
  pull_request: 'Pull request',
};

export const SOURCE_LABELS: Record<TaskSource, string> = {
  api: 'API',
  cli: 'CLI',
  slack: 'Slack',
  linear: 'Linear',
  github: 'GitHub',
  schedule: 'Schedule',
  hook: 'Webhook',
};

export const TASK_STATUSES: readonly TaskStatus[] = [
  'queued',
  'running',
  'waiting_for_input',
  'succeeded',
  'failed',
  'cancelled',
];
