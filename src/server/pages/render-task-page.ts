import { FINAL_STATUSES } from '../../domain/task.js';
import type { TimelineStage } from '../../domain/timeline.js';
import { formatDuration, formatUtc, since } from './format.js';
import { type Html, html, safeUrl } from './html.js';
import { SOURCE_LABELS, STAGE_LABELS, STAGES, STATUS_LABELS } from './labels.js';
import { renderBudget } from './render-budget.js';
import { renderDiff } from './render-diff.js';
import { type AssetUrls, renderLayout } from './render-layout.js';
import { renderMarkdown } from './render-markdown.js';
import { renderConversation, renderPullRequest } from './render-task-side.js';
import { renderCheckList, renderTimeline } from './render-timeline.js';
import type { TaskPageView } from './view-models.js';

/**
 * `GET /tasks/:id`: the request, where the task stands, its budget, its timeline, its change and its
 * checks. The data attributes on `#task` are what the page's script starts from when it follows
 * the timeline live.
 */
export function renderTaskPage(view: TaskPageView, assets: AssetUrls): string {
  const final = FINAL_STATUSES.has(view.status);
  const body = html`<div class="task-page" id="task" data-task-id="${view.id}" data-status="${view.status}"
      data-events-url="${view.eventsUrl}" data-created-at="${view.createdAt}" data-finished-at="${view.finishedAt ?? ''}"
      data-now="${view.now}" data-may-act="${String(view.mayAct)}" data-retried-by="${view.retriedBy ?? ''}"
      data-steps="${view.steps}" data-usage="${JSON.stringify(view.usage)}">
    <nav class="crumbs"><a href="/tasks">Tasks</a> <span aria-hidden="true">/</span> <span class="mono">${view.id}</span></nav>
    ${renderHeader(view, final)}
    ${renderStages(view)}
    ${renderSectionNav(view)}
    <div class="task-grid">
      <div class="task-main">
        <section class="card" id="request"><h2>Request</h2><div class="instruction">${view.instruction}</div></section>
        <div id="outcome">${renderOutcomeCard(view)}</div>
        ${
          // Once the task ended, what it changed matters more than how: the change comes first.
          final
            ? html`${renderChanges(view)}${renderTimelineSection(view, final)}`
            : html`${renderTimelineSection(view, final)}${renderChanges(view)}`
        }
      </div>
      <aside class="task-side">
        <section class="card" id="budget"><h2>Budget</h2>${renderBudget(view.steps, view.usage, view.budget)}</section>
        <section class="card" id="pull-request"><h2>Pull request</h2>${renderPullRequest(view)}</section>
        ${renderConversation(view)}
      </aside>
    </div>
  </div>`;
  return renderLayout({
    title: view.title,
    body,
    viewer: view.viewer,
    assets,
    styles: ['task-page.css', 'timeline.css', 'diff.css', 'side.css'],
    script: 'task-page.js',
  });
}

function renderTimelineSection(view: TaskPageView, final: boolean): Html {
  return html`<section class="card" id="timeline-section"><h2>Timeline <span class="live" id="live" data-state="${final ? 'done' : 'connecting'}"></span></h2>
    ${renderTimeline(view.timeline, view.createdAt)}
    ${view.timeline.length === 0 ? html`<p class="empty" id="timeline-empty">Nothing has happened yet.</p>` : ''}
  </section>`;
}

function renderChanges(view: TaskPageView): Html {
  return html`<section class="card" id="changes"><h2>Changes</h2>${renderDiff(view.diff)}</section>
    <section class="card" id="checks"><h2>Checks</h2>${
      view.checks.length > 0 ? renderCheckList(view.checks) : html`<p class="empty">No checks ran.</p>`
    }</section>`;
}

function renderHeader(view: TaskPageView, final: boolean): Html {
  const origin = view.origin.url
    ? html`<a href="${safeUrl(view.origin.url)}">${view.origin.label}</a>`
    : html`${view.origin.label}`;
  const branch = view.branch
    ? html`<span class="fact"><code>${view.branch}</code>${view.base ? html` → <code>${view.base}</code>` : ''}</span>`
    : view.base
      ? html`<span class="fact">base <code>${view.base}</code></span>`
      : '';
  const elapsed = since(view.createdAt, view.finishedAt ?? view.now);
  const retry = [
    view.retryOf
      ? html`<span class="fact">Retry of <a href="/tasks/${view.retryOf}">${view.retryOf}</a></span>`
      : '',
    view.retriedBy
      ? html`<span class="fact retried">Retried as <a href="/tasks/${view.retriedBy}">${view.retriedBy}</a></span>`
      : '',
  ];
  return html`<header class="task-header">
    <div class="task-heading">
      <h1>${view.title}</h1>
      <p class="task-facts">
        <span class="status-pill status-${view.status}" id="task-status">${STATUS_LABELS[view.status]}</span>
        <span class="fact repo">${view.repo}</span>
        ${branch}
        <span class="fact" title="${SOURCE_LABELS[view.origin.source]}">${origin}${view.origin.requester ? ` · ${view.origin.requester}` : ''}</span>
        <span class="fact"><time datetime="${view.createdAt}" title="${view.createdAt}">${formatUtc(view.createdAt)}</time></span>
        <span class="fact"><span id="elapsed" data-final="${String(final)}">${formatDuration(elapsed)}</span> elapsed</span>
        ${retry}
      </p>
    </div>
    <div class="task-actions">
      <button type="button" class="button danger" id="stop" data-action="stop"${view.actions.stop ? '' : html` hidden`}>Stop</button>
      <button type="button" class="button" id="retry" data-action="retry"${view.actions.retry ? '' : html` hidden`}>Retry</button>
      <p class="action-result" id="action-result" role="status"></p>
    </div>
  </header>`;
}

type StageState = 'done' | 'current' | 'pending' | 'failed';

function stageStates(view: TaskPageView): Map<TimelineStage, StageState> {
  const states = new Map<TimelineStage, StageState>(STAGES.map((s) => [s, 'pending']));
  let last: TimelineStage | undefined;
  for (const { entry } of view.timeline) {
    if (entry.type === 'stage') {
      states.set(entry.stage, 'current');
      last = entry.stage;
    }
    if (entry.type === 'stage_ended') states.set(entry.stage, 'done');
  }
  for (const [stage, state] of states) {
    if (state !== 'current' || stage === view.stage) continue;
    // A stage left open by an attempt that ended: where the task stopped, or done by a later attempt.
    states.set(stage, view.status === 'failed' && stage === last ? 'failed' : 'done');
  }
  return states;
}

function renderStages(view: TaskPageView): Html {
  const states = stageStates(view);
  return html`<ol class="stages" id="stages" aria-label="Stages">${STAGES.map(
    (stage) =>
      html`<li class="stage ${states.get(stage)}" data-stage="${stage}"${
        states.get(stage) === 'current' ? html` aria-current="step"` : ''
      }>${STAGE_LABELS[stage]}</li>`,
  )}</ol>`;
}

function renderSectionNav(view: TaskPageView): Html {
  const calls = view.timeline.filter((e) => e.entry.type === 'tool_call').length;
  const files = view.diff?.files.length ?? 0;
  return html`<nav class="section-nav" id="section-nav"><a href="#timeline-section">Timeline <span class="count" id="calls-count">${calls}</span></a><a href="#changes">Changes <span class="count">${files}</span></a><a href="#checks">Checks <span class="count">${view.checks.length}</span></a></nav>`;
}

function renderOutcomeCard(view: TaskPageView): Html {
  const parts: Html[] = [];
  if (view.status === 'waiting_for_input' && view.question) {
    parts.push(html`<section class="card callout question"><h2>Waiting for an answer</h2><p class="question-text">${view.question}</p>
      <p class="meta">Answer where the task was asked (${view.origin.label}); the task then goes on from where it stopped.</p></section>`);
  }
  if (view.error && view.status === 'failed') {
    parts.push(
      html`<section class="card callout error"><h2>Failed</h2><p><code>${view.error.code}</code> ${view.error.message}</p>${
        view.error.hint ? html`<p class="hint">${view.error.hint}</p>` : ''
      }</section>`,
    );
  }
  if (view.summary) {
    parts.push(
      html`<section class="card" id="summary"><h2>Summary</h2><div class="markdown">${renderMarkdown(view.summary)}</div></section>`,
    );
  }
  return html`${parts}`;
}
