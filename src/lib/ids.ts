import { createHash, randomBytes } from 'node:crypto';

/** Task ids are URL- and BullMQ-safe (no `:`), sortable by creation time. */
export function newTaskId(now = Date.now()): string {
  return `t${now.toString(36)}${randomBytes(6).toString('hex')}`;
}

export function shortHash(text: string, length = 8): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/**
 * A UUID (version 4 in form, as APIs that take a client-chosen id expect) derived from `name`: the
 * same name always gives the same id, so a retried create carries the id of the first attempt.
 */
export function toStableUuid(name: string): string {
  const bytes = createHash('sha256').update(name).digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
