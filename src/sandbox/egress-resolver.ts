import { lookup as dnsLookup } from 'node:dns/promises';
import { classifyAddress, type ForbiddenRange, listOwnAddresses } from './egress-addresses.js';

/** What the proxy learns about an allowed name before it opens a connection. */
export type Resolution =
  | { ok: true; addresses: string[] }
  | { ok: false; reason: 'forbidden_address'; range: ForbiddenRange; address: string }
  | { ok: false; reason: 'unresolved'; detail: string };

/**
 * Turns an allowed name into the addresses to connect to. Production uses {@link createPublicResolver};
 * tests inject their own (e.g. a name that leads to a server on loopback), which is why this is a
 * dependency of the proxy and not a setting: nothing in configuration can open loopback.
 */
export type ResolveName = (name: string) => Promise<Resolution>;

export type LookupAll = (name: string) => Promise<Array<{ address: string; family: number }>>;

/**
 * The production resolver: the system's resolver, asked only about names the proxy already allowed.
 * A name any of whose addresses is loopback, private, link-local or the host's own is refused whole,
 * so that a name cannot smuggle one such answer among public ones.
 */
export function createPublicResolver(
  deps: { lookup?: LookupAll; ownAddresses?: () => readonly string[] } = {},
): ResolveName {
  const lookup = deps.lookup ?? ((name: string) => dnsLookup(name, { all: true, verbatim: true }));
  const own = deps.ownAddresses ?? listOwnAddresses;
  return async (name) => {
    let answers: Array<{ address: string }>;
    try {
      answers = await lookup(name);
    } catch (err) {
      return {
        ok: false,
        reason: 'unresolved',
        detail: (err as NodeJS.ErrnoException).code ?? 'lookup failed',
      };
    }
    if (answers.length === 0) return { ok: false, reason: 'unresolved', detail: 'no address' };
    const ownAddresses = own();
    for (const { address } of answers) {
      const range = classifyAddress(address, ownAddresses);
      if (range) return { ok: false, reason: 'forbidden_address', range, address };
    }
    return { ok: true, addresses: answers.map((a) => a.address) };
  };
}
