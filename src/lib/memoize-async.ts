/**
 * A value looked up once and shared by every caller, the look-up in flight included; a failed look-up
 * is forgotten, so the next call asks again.
 */
export function memoizeAsync<T>(lookUp: () => Promise<T>): () => Promise<T> {
  let known: Promise<T> | undefined;
  return () => {
    if (known) return known;
    const asked = lookUp();
    known = asked;
    asked.catch(() => {
      if (known === asked) known = undefined;
    });
    return asked;
  };
}

/** {@link memoizeAsync} per key; `forget` drops what a key holds (a value that went stale). */
export function memoizeAsyncByKey<T>(lookUp: (key: string) => Promise<T>) {
  const known = new Map<string, Promise<T>>();
  return {
    get(key: string): Promise<T> {
      const hit = known.get(key);
      if (hit) return hit;
      const asked = lookUp(key);
      known.set(key, asked);
      asked.catch(() => {
        if (known.get(key) === asked) known.delete(key);
      });
      return asked;
    },
    /** Drops every key whose value matches: resolved values only, a look-up in flight stays. */
    async forgetWhere(matches: (value: T) => boolean): Promise<void> {
      for (const [key, value] of known) {
        const settled = await value.catch(() => undefined);
        if (settled !== undefined && matches(settled) && known.get(key) === value) known.delete(key);
      }
    },
  };
}
