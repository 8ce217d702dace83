import { createHash } from 'node:crypto';
import { PATCHBAY_BRANCH_PREFIX } from '../domain/conversation.js';

const SLUG_MAX = 40;
const KEY_MAX = 32;

/**
 * Lowercase ASCII words joined by '-'. Only [a-z0-9-] survives, which keeps every rule of
 * `git check-ref-format` satisfied by construction (no '.', '..', '.lock', '@{', control characters,
 * spaces, '~^:?*[\').
 */
function slugify(text: string, max: number): string {
  const ascii = text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '') // é → e after NFKD splits off the accent
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (ascii.length <= max) return ascii;
  const cut = ascii.slice(0, max);
  // Prefer ending on a whole word when one ends reasonably late.
  const lastDash = cut.lastIndexOf('-');
  return (lastDash >= max / 2 ? cut.slice(0, lastDash) : cut).replace(/-+$/, '');
}

function cleanKey(key: string): string {
  return key
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, KEY_MAX)
    .replace(/-+$/, '');
}

/** A short stable id of a conversation: the first 8 hex digits of its sha256. */
export function conversationKey(conversation: string): string {
  return createHash('sha256').update(conversation).digest('hex').slice(0, 8);
}

/**
 * `patchbay/<key>-<slug>`: key is the Linear identifier (`ENG-123`) or a short stable id of the
 * conversation; slug comes from the instruction (lowercase, [a-z0-9-], ≤ 40 chars, `task` when
 * nothing usable is left). Always a valid git branch name.
 */
export function toBranchName(opts: { key?: string; conversation: string; instruction: string }): string {
  const key = (opts.key && cleanKey(opts.key)) || conversationKey(opts.conversation);
  const slug = slugify(opts.instruction, SLUG_MAX) || 'task';
  return `${PATCHBAY_BRANCH_PREFIX}${key}-${slug}`;
}
