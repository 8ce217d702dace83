import { repoUrlsIn } from '../../config/repository-rules.js';

/**
 * Reading what people write to the bot. Slack sends message text in its own markup: mentions are
 * `<@U123>`, links `<https://…|label>`, and `&`, `<`, `>` are escaped as entities
 * (https://docs.slack.dev/messaging/formatting-message-text).
 */

export type Command = 'stop' | 'status' | 'help';

/** Removes every mention of the bot (`<@UBOT>`, `<@UBOT|name>`) and trims. */
export function stripBotMention(text: string, botUserId: string): string {
  return text.replace(new RegExp(`<@${botUserId}(?:\\|[^>]*)?>`, 'g'), ' ').trim();
}

export function mentionsBot(text: string, botUserId: string): boolean {
  return text.includes(`<@${botUserId}>`) || text.includes(`<@${botUserId}|`);
}

/** `stop`, `status` or `help` when that is all the message says (after the mention). */
export function parseCommand(text: string): Command | null {
  const word = text
    .trim()
    .toLowerCase()
    .replace(/[.!?]+$/, '');
  if (word === 'stop' || word === 'cancel') return 'stop';
  if (word === 'status') return 'status';
  if (word === '' || word === 'help') return 'help';
  return null;
}

/** Slack markup to plain text: links become their URL, mentions `@U123`, entities characters. */
export function toPlainText(text: string): string {
  return text
    .replace(/<((?:https?|mailto):[^|>]+)(?:\|[^>]*)?>/g, '$1')
    .replace(/<@([A-Z0-9]+)(?:\|([^>]*))?>/g, (_m, id: string, name?: string) => `@${name || id}`)
    .replace(/<#([A-Z0-9]+)(?:\|([^>]*))?>/g, (_m, id: string, name?: string) => `#${name || id}`)
    .replace(/<!(here|channel|everyone)(?:\|[^>]*)?>/g, '@$1')
    .replace(/<!subteam\^[A-Z0-9]+(?:\|([^>]*))?>/g, (_m, name?: string) => name ?? '@group')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** Our text into Slack: untrusted text must not become a mention (`<!channel>`) or a disguised link. */
export function escapeForSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export interface NamedRepo {
  repo: string;
  /** Said with `repo=`, a URL or "in owner/name": a refusal if it is not allowed. */
  explicit: boolean;
}

const NAME = '[A-Za-z0-9_.-]+\\/[A-Za-z0-9_.-]+';
const REPO_KEY = new RegExp(`\\brepo(?:sitory)?\\s*[=:]\\s*(${NAME})`, 'i');
const BARE = new RegExp(`(^|[\\s(\\[,"'\`])(${NAME})(?=$|[\\s)\\],.!?:;"'\`])`, 'g');
const INTRO = /\b(?:in|on|for|from|to|repo|repository)\s*$/i;
const FILE_LIKE = /\.[A-Za-z0-9]{1,5}$/;

/**
 * The repository a message names: `repo=owner/name` (or `repo:`), a repository URL on one of `hosts`,
 * or a bare `owner/name`. A bare name counts when it is on the allowlist, or when it follows "in",
 * "on", "for"… and does not look like a file path (`src/app.ts`): then it is a request for a repository
 * Patchbay may not touch, and the bot says so instead of guessing another one.
 */
export function findNamedRepo(
  text: string,
  allowed: (name: string) => boolean,
  hosts: readonly string[],
): NamedRepo | undefined {
  const keyed = REPO_KEY.exec(text)?.[1];
  if (keyed) return { repo: trimName(keyed), explicit: true };
  const url = repoUrlsIn(text, hosts)[0];
  if (url) return { repo: url, explicit: true };
  let introduced: string | undefined;
  for (const match of text.matchAll(BARE)) {
    const name = trimName(match[2] ?? '');
    const before = text.slice(0, match.index + (match[1] ?? '').length);
    if (before.endsWith('://') || /[/:.]$/.test(before)) continue;
    if (allowed(name)) return { repo: name, explicit: false };
    if (!introduced && INTRO.test(before) && !FILE_LIKE.test(name)) introduced = name;
  }
  return introduced ? { repo: introduced, explicit: true } : undefined;
}

/** `branch=name` or `base=name` (Cursor's `[repo=…, branch=…]` included). */
export function findNamedBase(text: string): string | undefined {
  return /\b(?:branch|base)\s*[=:]\s*([^\s,\]]+)/i.exec(text)?.[1];
}

function trimName(name: string): string {
  return name.replace(/\.git$/i, '').replace(/[.]+$/, '');
}
