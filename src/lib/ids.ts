import { createHash, randomBytes } from 'node:crypto';

/** Task ids are URL- and BullMQ-safe (no `:`), sortable by creation time. */
export function newTaskId(now = Date.now()): string {
  return `t${now.toString(36)}${randomBytes(6).toString('hex')}`;
}

export function shortHash(text: string, length = 8): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}
