// @ts-check
/*
 * Stop and Retry: POSTs with a JSON body to the task's API routes, same-origin, so the session cookie
 * goes along (and the server's cross-site checks see a JSON request); the outcome shows beside the
 * buttons, and a retry opens the new task's page.
 */

/**
 * @param {string} url
 * @returns {Promise<{ ok: boolean, status: number, body: any }>}
 */
async function postJson(url) {
  const res = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: '{}',
  });
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  return { ok: res.ok, status: res.status, body };
}

/** @param {{ status: number, body: any }} answer */
function describeFailure(answer) {
  const message = answer.body?.error?.message;
  return typeof message === 'string' ? message : `the server answered ${answer.status}`;
}

/**
 * Wires the page's Stop and Retry buttons to the API.
 * @param {string} taskId
 */
export function setupActions(taskId) {
  const result = document.getElementById('action-result');
  const stop = document.getElementById('stop');
  const retry = document.getElementById('retry');
  /** @param {string} text @param {'ok' | 'bad' | ''} tone */
  const say = (text, tone) => {
    if (!result) return;
    result.textContent = text;
    result.dataset.tone = tone;
  };
  const base = `/api/tasks/${encodeURIComponent(taskId)}`;
  stop?.addEventListener('click', async () => {
    if (!(stop instanceof HTMLButtonElement)) return;
    stop.disabled = true;
    say('Stopping…', '');
    try {
      const answer = await postJson(`${base}/cancel`);
      if (answer.ok) say('Stop requested: the task stops at its next step.', 'ok');
      else say(`Could not stop: ${describeFailure(answer)}.`, 'bad');
    } catch {
      say('Could not stop: Patchbay did not answer.', 'bad');
    }
    stop.disabled = false;
  });
  retry?.addEventListener('click', async () => {
    if (!(retry instanceof HTMLButtonElement)) return;
    retry.disabled = true;
    say('Starting a new task…', '');
    try {
      const answer = await postJson(`${base}/retry`);
      const id = answer.body?.id;
      if (answer.ok && typeof id === 'string') {
        say(`Retrying as ${id}…`, 'ok');
        window.location.assign(`/tasks/${encodeURIComponent(id)}`);
        return;
      }
      say(`Could not retry: ${describeFailure(answer)}.`, 'bad');
    } catch {
      say('Could not retry: Patchbay did not answer.', 'bad');
    }
    retry.disabled = false;
  });
}
