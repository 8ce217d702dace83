/**
 * Text Patchbay posts to Linear (comments, activities), made unable to notify anyone. Much of it comes
 * from the model (summaries, questions, tool arguments) or from errors, and Linear turns a profile
 * link (`https://linear.app/<workspace>/profiles/<handle>`, bare or in `[…](…)`) into a mention that
 * notifies that person, and people read `@handle` as one. Worse, a mention of the bot user in the
 * agent's own text would come back as a comment webhook and start work. A zero-width space after
 * `@` and inside `/profiles/` keeps the text readable and inert; e-mail addresses are left alone.
 */
export function neutraliseMentions(text: string): string {
  return text
    .replace(/(?<![\p{L}\p{N}_.])@(?=[\p{L}\p{N}_])/gu, '@\u200b')
    .replace(/(linear\.app\/[^/\s)\]]+\/profiles)\//gi, '$1\u200b/');
}
