/** One placeholder: `{{path.to.field}}` (array items by index: `{{items.0.name}}`). Nothing else is read. */
const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)\s*\}\}/g;
const MAX_VALUE_CHARS = 2_000;
const MAX_CONTEXT_CHARS = 20_000;

/** The value at `path` in `body`: text as it is, numbers and booleans written out, objects as JSON. */
function lookUp(body: unknown, path: string): string {
  let at: unknown = body;
  for (const part of path.split('.')) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, part)) return '';
    at = (at as Record<string, unknown>)[part];
  }
  if (at === null || at === undefined) return '';
  if (typeof at === 'string') return at;
  if (typeof at === 'number' || typeof at === 'boolean') return String(at);
  return JSON.stringify(at);
}

const cut = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max)}… (cut)`);

/**
 * The fields a hook passes along, rendered from the delivery's JSON body: each `label: template`,
 * its `{{path.to.field}}` placeholders filled in (a missing field is empty), nothing evaluated. The
 * result goes to the task as untrusted context, never into its instruction: anyone who can make the
 * sender raise an event writes some of this text.
 */
export function renderHookFields(
  hook: string,
  fields: Record<string, string>,
  body: unknown,
): string | undefined {
  const lines = Object.entries(fields).map(([label, template]) => {
    const value = template.replace(PLACEHOLDER, (_m, path: string) => lookUp(body, path));
    return `${label}: ${cut(value, MAX_VALUE_CHARS)}`;
  });
  if (lines.length === 0) return undefined;
  const head = `Fields of the delivery to hook "${hook}", as the sender wrote them:`;
  return cut([head, ...lines].join('\n'), MAX_CONTEXT_CHARS);
}
