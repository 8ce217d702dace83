import { formatAgo, formatDuration, formatUsd, formatUtc, since } from './format.js';
import { type Html, html, safeUrl } from './html.js';
import { SOURCE_LABELS, STATUS_LABELS, TASK_STATUSES } from './labels.js';
import { type AssetUrls, renderLayout } from './render-layout.js';
import { renderSpendChart } from './render-spend-chart.js';
import type { DashboardStats, DashboardView, TaskFilters, TaskListItem } from './view-models.js';

/** `GET /tasks`: what runs and waits, what it costs, what fails, and the tasks, newest first. */
export function renderDashboard(view: DashboardView, assets: AssetUrls): string {
  const body = html`<div class="dashboard" id="dashboard">
    <div class="page-heading"><h1>Tasks</h1></div>
    ${renderCounts(view.stats)}
    <div class="dash-grid">
      <section class="card" id="spend"><h2>Spend, last ${view.stats.spend.days} days</h2>${renderSpendChart(view.stats.spend)}</section>
      <section class="card" id="failures"><h2>Failures that recur</h2>${renderFailures(view)}</section>
    </div>
    <section class="card" id="task-list"><h2>All tasks</h2>
      ${renderFilters(view)}
      ${renderTaskTable(view)}
      ${renderPager(view)}
    </section>
  </div>`;
  return renderLayout({
    title: 'Tasks',
    body,
    viewer: view.viewer,
    assets,
    styles: ['dashboard.css'],
    script: 'dashboard.js',
  });
}

function renderCounts(stats: DashboardStats): Html {
  const wait = stats.queueWait;
  const noWorkers = stats.workersAlive === 0 && stats.queued > 0;
  const stat = (id: string, label: string, value: string | number, note: Html | string = '', extra = '') =>
    html`<div class="stat${extra}" id="${id}"><p class="stat-label">${label}</p><p class="stat-value">${value}</p><p class="meta">${note}</p></div>`;
  return html`<div class="stats">
    ${stat('stat-running', 'Running', stats.running, html`<a href="/tasks?status=running">show</a>`)}
    ${stat('stat-queued', 'Queued', stats.queued, `${stats.waitingForInput} waiting for an answer`)}
    ${stat('stat-workers', 'Workers alive', stats.workersAlive, noWorkers ? 'tasks are queued and no worker is alive' : '', noWorkers ? ' warn' : '')}
    ${stat(
      'stat-wait',
      'Queue wait',
      wait.medianMs === null ? '—' : formatDuration(wait.medianMs),
      wait.p90Ms === null
        ? 'median; no task started lately'
        : `median; 90th percentile ${formatDuration(wait.p90Ms)}`,
    )}
  </div>`;
}

function renderFailures(view: DashboardView): Html {
  if (view.stats.failures.length === 0)
    return html`<p class="empty">No failures in the last ${view.stats.spend.days} days.</p>`;
  const rows = view.stats.failures.map(
    (
      f,
    ) => html`<tr><td class="num">${f.count}×</td><td><code>${f.code}</code><p class="failure-message">${f.message}</p></td>
      <td class="nowrap">${f.lastTaskId && f.lastAt ? html`<a href="/tasks/${f.lastTaskId}" title="${formatUtc(f.lastAt)}">${formatAgo(since(f.lastAt, view.now))}</a>` : ''}</td></tr>`,
  );
  return html`<table class="failures"><thead><tr><th class="num">Times</th><th>Reason</th><th>Last</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function renderFilters(view: DashboardView): Html {
  const f = view.filters;
  const option = (value: string, label: string, selected: string | undefined) =>
    html`<option value="${value}"${value === (selected ?? '') ? html` selected` : ''}>${label}</option>`;
  const repos =
    f.repo && !view.repositories.includes(f.repo) ? [...view.repositories, f.repo] : view.repositories;
  return html`<form class="filters" method="get" action="/tasks" id="filters">
    <label>Status <select name="status">${option('', 'Any', f.status)}${TASK_STATUSES.map((s) => option(s, STATUS_LABELS[s], f.status))}</select></label>
    <label>Repository <select name="repo">${option('', 'Any', f.repo)}${repos.map((r) => option(r, r, f.repo))}</select></label>
    <label>Source <select name="source">${option('', 'Any', f.source)}${Object.entries(SOURCE_LABELS).map(([s, label]) => option(s, label, f.source))}</select></label>
    <label>Requester <input type="search" name="requester" value="${f.requester ?? ''}" placeholder="name or login" maxlength="200"></label>
    <button type="submit" class="button">Filter</button>
    ${hasFilters(f) ? html`<a class="clear" href="/tasks">Clear</a>` : ''}
  </form>`;
}

function hasFilters(f: TaskFilters): boolean {
  return Boolean(f.status || f.repo || f.source || f.requester);
}

function renderTaskTable(view: DashboardView): Html {
  if (view.tasks.length === 0) {
    return html`<p class="empty" id="no-tasks">${hasFilters(view.filters) ? 'No task matches these filters.' : 'No tasks yet.'}</p>`;
  }
  return html`<div class="table-scroll"><table class="tasks" id="tasks">
    <thead><tr><th>Status</th><th>Task</th><th>Repository</th><th class="optional">Source</th><th>Created</th><th class="optional num">Took</th><th class="optional num">Steps</th><th class="num">Cost</th><th>PR</th></tr></thead>
    <tbody>${view.tasks.map((t) => renderTaskRow(t, view.now))}</tbody></table></div>`;
}

function renderTaskRow(task: TaskListItem, now: string): Html {
  const took = task.finishedAt ? formatDuration(since(task.createdAt, task.finishedAt)) : '';
  return html`<tr data-task-id="${task.id}">
    <td><span class="status-pill status-${task.status}">${STATUS_LABELS[task.status]}</span></td>
    <td class="task-cell"><a href="/tasks/${task.id}">${task.title}</a><span class="mono meta">${task.id}</span>${
      task.errorCode ? html`<code class="error-code">${task.errorCode}</code>` : ''
    }</td>
    <td>${task.repo}</td>
    <td class="optional">${SOURCE_LABELS[task.source]}${task.requester ? html`<span class="meta"> · ${task.requester}</span>` : ''}</td>
    <td class="nowrap"><time datetime="${task.createdAt}" title="${formatUtc(task.createdAt)}">${formatAgo(since(task.createdAt, now))}</time></td>
    <td class="optional num">${took}</td>
    <td class="optional num">${task.steps}</td>
    <td class="num">${formatUsd(task.usd)}</td>
    <td>${task.pullRequest ? html`<a href="${safeUrl(task.pullRequest.url)}">#${task.pullRequest.number}</a>` : ''}</td>
  </tr>`;
}

function filterQuery(filters: TaskFilters, cursor?: string): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value) query.set(key, value);
  if (cursor) query.set('cursor', cursor);
  const text = query.toString();
  return text ? `/tasks?${text}` : '/tasks';
}

function renderPager(view: DashboardView): Html {
  if (!view.cursor && !view.nextCursor) return html``;
  return html`<nav class="pager" aria-label="Pages">${view.cursor ? html`<a href="${filterQuery(view.filters)}">← Newest</a>` : ''}${
    view.nextCursor
      ? html`<a href="${filterQuery(view.filters, view.nextCursor)}" rel="next" id="older">Older →</a>`
      : ''
  }</nav>`;
}
