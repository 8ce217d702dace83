/** The bot user as Linear names it: `displayName` is the handle (`patchbay`), `name` the full name. */
export interface MentionedUser {
  name: string;
  displayName: string;
}

export interface Mention {
  /** The comment's text with every mention of the user taken out, trimmed. */
  rest: string;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Whether a comment mentions the user, and what it says besides. Linear writes a user mention in a
 * comment's markdown `body` as a link to the profile, `https://linear.app/<workspace>/profiles/<handle>`
 * (bare, or as `[@handle](…)`), the handle sometimes the URL-encoded full name
 * (https://github.com/linear/linear/issues/351); people who type it as text write `@handle`. All three
 * count, case-insensitively, for the display name and the full name.
 */
export function findMention(body: string, user: MentionedUser): Mention | null {
  // Longest first: `@Patchbay Bot` must not leave `Bot` behind as text.
  const names = [...new Set([user.displayName, user.name].filter((n) => n.trim().length > 0))].sort(
    (a, b) => b.length - a.length,
  );
  if (names.length === 0) return null;
  const alternatives = names
    .flatMap((n) => [n, encodeURIComponent(n), n.replace(/ /g, '%20')])
    .map(escapeRegExp)
    .join('|');
  const profile = `https?://linear\\.app/[^/\\s)]+/profiles/(?:${alternatives})(?=[/?#)\\s]|$)[^\\s)]*`;
  const patterns = [
    new RegExp(`\\[[^\\]\\n]{0,200}\\]\\(${profile}\\)`, 'gi'),
    new RegExp(profile, 'gi'),
    new RegExp(`(?<![\\w@.])@(?:${names.map(escapeRegExp).join('|')})(?![\\w-])`, 'gi'),
  ];
  let text = body.slice(0, 50_000);
  let found = false;
  for (const pattern of patterns) {
    text = text.replace(pattern, () => {
      found = true;
      return ' ';
    });
  }
  if (!found) return null;
  return { rest: text.replace(/[ \t]+/g, ' ').replace(/^[\s,:;-]+|\s+$/g, '') };
}

/**
 * What a comment says after the mentions it opens with (whoever they name): the instruction of a
 * comment that opened an agent session, whose agent's handle the webhook does not carry.
 */
export function afterLeadingMentions(body: string): string {
  const mention =
    /^\s*(?:\[[^\]\n]{0,200}\]\(https?:\/\/linear\.app\/[^/\s)]+\/profiles\/[^\s)]+\)|https?:\/\/linear\.app\/[^/\s)]+\/profiles\/\S+|@[\w.-]+)[\s,:;-]*/i;
  let text = body.slice(0, 50_000);
  for (let i = 0; i < 5; i++) {
    const next = text.replace(mention, '');
    if (next === text) break;
    text = next;
  }
  return text.trim();
}
