import type { Usage } from '../../domain/task.js';
import { formatDuration, formatTokens, formatUsd } from './format.js';
import { type Html, html } from './html.js';
import type { TaskBudget } from './view-models.js';

/*
 * The budget card: steps, agent time and cost as meters against the task's limits, and the tokens
 * split into cached input, fresh input and output. The page's script moves the same elements as
 * model turns and tool calls arrive (assets/task-page.js, `updateBudget`).
 */

export function renderBudget(steps: number, usage: Usage, budget: TaskBudget): Html {
  const limitMs = budget.minutes * 60_000;
  const cost =
    budget.usd === null
      ? html`<div class="meter-row" data-meter="usd"><div class="meter-label"><span>Cost</span><span class="meter-value">${formatUsd(usage.usd)}</span></div><p class="meta">No cost limit: the model has no price in patchbay.yml.</p></div>`
      : meter(
          'usd',
          'Cost',
          usage.usd ?? 0,
          budget.usd,
          `${formatUsd(usage.usd)} of ${formatUsd(budget.usd)}`,
        );
  return html`<div class="budget" id="budget-meters" data-budget-steps="${budget.steps}" data-budget-minutes="${budget.minutes}" data-budget-usd="${budget.usd ?? ''}">
    ${meter('steps', 'Steps', steps, budget.steps, `${steps} of ${budget.steps}`)}
    ${meter('time', 'Agent time', usage.agentMs, limitMs, `${formatDuration(usage.agentMs)} of ${budget.minutes} min`)}
    ${cost}
    ${renderTokens(usage)}
  </div>`;
}

function meter(name: string, label: string, value: number, max: number, text: string): Html {
  // low/high/optimum let the browser colour the bar: green, then amber past 75 %, red past 90 %.
  return html`<div class="meter-row" data-meter="${name}"><div class="meter-label"><span>${label}</span><span class="meter-value">${text}</span></div><meter min="0" max="${max}" low="${max * 0.75}" high="${max * 0.9}" optimum="0" value="${Math.min(value, max)}"></meter></div>`;
}

function renderTokens(usage: Usage): Html {
  const total = usage.promptTokens + usage.completionTokens;
  const fresh = Math.max(0, usage.promptTokens - usage.cachedTokens);
  const width = (n: number) => (total === 0 ? 0 : Math.round((n / total) * 1000) / 10);
  return html`<div class="meter-row" data-meter="tokens"><div class="meter-label"><span>Tokens</span><span class="meter-value">${formatTokens(total)}</span></div>
    <svg class="token-bar" viewBox="0 0 100 6" preserveAspectRatio="none" aria-hidden="true"><rect class="tok-cached" x="0" y="0" height="6" width="${width(usage.cachedTokens)}"></rect><rect class="tok-input" x="${width(usage.cachedTokens)}" y="0" height="6" width="${width(fresh)}"></rect><rect class="tok-output" x="${width(usage.cachedTokens) + width(fresh)}" y="0" height="6" width="${width(usage.completionTokens)}"></rect></svg>
    <p class="token-split"><span class="key tok-cached"></span><span data-tokens="cached">${formatTokens(usage.cachedTokens)}</span> cached <span class="key tok-input"></span><span data-tokens="input">${formatTokens(fresh)}</span> in <span class="key tok-output"></span><span data-tokens="output">${formatTokens(usage.completionTokens)}</span> out</p></div>`;
}
