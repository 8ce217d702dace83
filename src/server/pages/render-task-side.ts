import { formatAgo, since } from './format.js';
import { type Html, html, safeUrl } from './html.js';
import { STATUS_LABELS } from './labels.js';
import type { TaskPageView } from './view-models.js';

/** The pull request card: the link, or why there is none. */
export function renderPullRequest(view: TaskPageView): Html {
  if (view.pullRequest) {
    return html`<p><a class="pr-link" href="${safeUrl(view.pullRequest.url)}">#${view.pullRequest.number}</a> on ${view.repo}</p>${
      view.branch ? html`<p class="meta">from <code>${view.branch}</code></p>` : ''
    }`;
  }
  if (view.status === 'succeeded') return html`<p class="empty">None: the task changed nothing.</p>`;
  if (view.status === 'failed' || view.status === 'cancelled') return html`<p class="empty">None.</p>`;
  return html`<p class="empty">Not yet: opened when the agent finishes.</p>`;
}

/**
 * The conversation's tasks, oldest first: earlier requests, this one, follow-ups and retries. An
 * empty element (kept for the page's script to refresh) when the task is the conversation's only one.
 */
export function renderConversation(view: TaskPageView): Html {
  if (view.conversation.length <= 1) return html`<div id="conversation"></div>`;
  const items = view.conversation.map((task) => {
    const current = task.id === view.id;
    const title = current
      ? html`<strong>${task.title}</strong>`
      : html`<a href="/tasks/${task.id}">${task.title}</a>`;
    const meta = [formatAgo(since(task.createdAt, view.now)), task.requester].filter(Boolean).join(' · ');
    return html`<li class="${current ? 'current' : ''}"${current ? html` aria-current="page"` : ''}>
      <span class="status-dot status-${task.status}" title="${STATUS_LABELS[task.status]}"></span>
      <div>${title}${task.retryOf ? html` <span class="badge">retry</span>` : ''}<p class="meta">${STATUS_LABELS[task.status]} · ${meta}</p>
      ${task.question ? html`<p class="qa"><span class="qa-label">Asked</span> ${task.question}</p>` : ''}
      ${task.answer ? html`<p class="qa"><span class="qa-label">Answer</span> ${task.answer}</p>` : ''}</div>
    </li>`;
  });
  return html`<section class="card" id="conversation"><h2>Conversation</h2><ol class="conversation">${items}</ol></section>`;
}
