import type { RecordedCall, StandInReply } from './http-stand-in.js';

/** GitHub's `documentation_url` on its error answers. */
export const DOCS = 'https://docs.github.com/rest';

/** GitHub's 401 for a token it does not know. */
export function badCredentials(): StandInReply {
  return { status: 401, json: { message: 'Bad credentials', documentation_url: DOCS } };
}

/** GitHub's 404, also its answer for what the caller may not see. */
export function notFound(): StandInReply {
  return { status: 404, json: { message: 'Not Found', documentation_url: DOCS } };
}

/** GitHub's 422 with its `errors` list. */
export function unprocessable(message: string, errors?: Array<Record<string, string>>): StandInReply {
  return { status: 422, json: { message, errors, documentation_url: DOCS } };
}

/** `owner/name` of a `/repos/:owner/:repo/…` route. */
export function repoOf(c: RecordedCall): string {
  return `${c.params.owner}/${c.params.repo}`;
}

/** The token of `authorization: token <t>` or `Bearer <t>`. */
export function presented(call: RecordedCall): string | undefined {
  const match = /^(?:token|bearer) (.+)$/i.exec(call.headers.authorization ?? '');
  return match?.[1];
}
