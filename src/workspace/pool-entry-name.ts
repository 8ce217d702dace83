/** A repository without setup keeps plain checkouts: any task of it may take one. */
export const PLAIN_KEY = 'plain';

/** What a complete pool entry's name says about it. */
export interface PoolEntryName {
  name: string;
  /** identityTag of the settings the entry was made with */
  tag: string;
  /** The setup key it was prepared for, or PLAIN_KEY. */
  key: string;
  /** The commit it is checked out (and prepared) at. */
  sha: string;
}

/** `<ms timestamp, padded>-<identity tag>-<setup key>-<commit>-<rand>`: sorted by name, newest last. */
export function formatPoolEntryName(e: Omit<PoolEntryName, 'name'>, now: number, rand: string): string {
  return `${String(now).padStart(15, '0')}-${e.tag}-${e.key}-${e.sha}-${rand}`;
}

/** undefined for a name of another format (an entry from an older Patchbay): it is dropped, never claimed. */
export function parsePoolEntryName(name: string): PoolEntryName | undefined {
  const m = /^\d{15}-([0-9a-f]{8})-([0-9a-f]{16}|plain)-([0-9a-f]{40}|[0-9a-f]{64})-[0-9a-f]+$/.exec(name);
  if (!m) return undefined;
  return { name, tag: m[1] ?? '', key: m[2] ?? '', sha: m[3] ?? '' };
}
