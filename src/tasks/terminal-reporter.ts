import type { Reporter, TaskEvent } from '../domain/events.js';
import { checkOutcome, type Usage } from '../domain/task.js';

const STAGES: Record<string, string> = {
  clone: 'cloning',
  setup: 'preparing the environment',
  agent: 'agent at work',
  checks: 'running checks',
  pull_request: 'committing, pushing, opening the pull request',
};

export function formatSpend(usage: Usage): string {
  const tokens = `${usage.promptTokens + usage.completionTokens} tokens`;
  return usage.usd === null ? `${tokens}, no price configured` : `${tokens}, $${usage.usd.toFixed(3)}`;
}

const CHECK_WORD = { passed: 'passed', failed: 'FAILED', timed_out: 'TIMED OUT' } as const;

function line(event: TaskEvent): string {
  switch (event.type) {
    case 'accepted':
      return `queued ${event.task.id}`;
    case 'started':
    case 'stage':
      return `· ${STAGES[event.stage] ?? event.stage}`;
    case 'step': {
      const s = event.step;
      return `  #${s.step} ${s.detail}  (${Math.round(s.elapsedMs / 1000)} s, ${formatSpend(s.usage)})`;
    }
    case 'question':
      return `? the agent asks: ${event.question}`;
    case 'finished': {
      const pr = event.pullRequest ? `\n  pull request: ${event.pullRequest.url}` : '';
      const checks = event.checks
        .map((c) => `\n  check ${CHECK_WORD[checkOutcome(c)]}: ${c.command}`)
        .join('');
      return `✔ done: ${event.summary}${checks}${pr}`;
    }
    case 'failed':
      return `✘ failed (${event.code}): ${event.message}${event.hint ? `\n  ${event.hint}` : ''}`;
  }
}

/** Progress on a terminal, one line per event, for `patchbay run`. */
export function createTerminalReporter(out: { write(text: string): unknown }): Reporter {
  return {
    async report(event) {
      out.write(`${line(event)}\n`);
    },
  };
}
