/** The address of a task's page, or undefined when Patchbay does not know its public address. */
export type TaskPageUrl = (taskId: string) => string | undefined;

/**
 * Links to task pages: `PATCHBAY_PUBLIC_URL/tasks/<id>`. Without a public URL there are no links
 * (a page behind a proxy cannot be guessed from inside), and start-up says so once.
 */
export function toTaskPageUrl(publicUrl: string | undefined): TaskPageUrl {
  if (!publicUrl) return () => undefined;
  const base = publicUrl.replace(/\/+$/, '');
  return (taskId) => `${base}/tasks/${encodeURIComponent(taskId)}`;
}
