// @ts-check
/*
 * Words and numbers as the pages write them, for the page's live parts. The server writes the same
 * (src/server/pages/format.ts, labels.ts): change the two together.
 */

/** @type {Record<string, string>} */
export const STATUS_LABELS = {
  queued: 'Queued',
  running: 'Running',
  waiting_for_input: 'Waiting for input',
  succeeded: 'Succeeded',
  failed: 'Failed',
  cancelled: 'Cancelled',
  retrying: 'Will retry',
  interrupted: 'Interrupted',
};

/** @type {Record<string, string>} */
export const STAGE_LABELS = {
  clone: 'Clone',
  setup: 'Setup',
  agent: 'Agent',
  checks: 'Checks',
  pull_request: 'Pull request',
};

/** @type {Record<string, string>} */
export const SOURCE_LABELS = {
  api: 'API',
  cli: 'CLI',
  slack: 'Slack',
  linear: 'Linear',
  github: 'GitHub',
  schedule: 'Schedule',
  hook: 'Webhook',
};

/** @param {number} ms */
export function formatDuration(ms) {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  const total = Math.floor(ms / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  if (hours === 0) return `${minutes}m ${String(seconds).padStart(2, '0')}s`;
  return `${hours}h ${String(minutes).padStart(2, '0')}m`;
}

/** @param {number} count */
export function formatTokens(count) {
  if (count < 1000) return String(count);
  if (count < 1000000) return `${(count / 1000).toFixed(1)}k`;
  return `${(count / 1000000).toFixed(2)}M`;
}

/** @param {number | null | undefined} usd */
export function formatUsd(usd) {
  if (usd === null || usd === undefined) return '—';
  if (usd === 0) return '$0';
  if (usd < 0.01) return '<$0.01';
  return `$${usd.toFixed(2)}`;
}

/** @param {number} bytes */
export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1048576) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1048576).toFixed(1)} MB`;
}

const SIZE_UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `4 GiB`, `1.5 GiB`: binary units, as patchbay.yml's `_mb` limits mean them (src/lib/format-bytes.ts). @param {number} bytes */
export function formatSize(bytes) {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < SIZE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = value >= 10 || Number.isInteger(value) ? Math.round(value) : Math.round(value * 10) / 10;
  return `${shown} ${SIZE_UNITS[unit]}`;
}

/** @param {number} ms */
export function formatOffset(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `+${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `+${minutes}:${seconds}`;
}

/** @param {string | undefined} url */
export function safeUrl(url) {
  if (!url) return '#';
  if (url.startsWith('/') && !url.startsWith('//')) return url;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : '#';
  } catch {
    return '#';
  }
}

/**
 * Entry ids increase: Redis Stream ids (`1712345678901-0`) or plain numbers.
 * @param {string} a
 * @param {string} b
 */
export function compareIds(a, b) {
  const [a1 = 0, a2 = 0] = a.split('-').map(Number);
  const [b1 = 0, b2 = 0] = b.split('-').map(Number);
  return a1 - b1 || a2 - b2;
}
