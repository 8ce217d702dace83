import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

/** Why an address is refused: the proxy never opens a way to the host or its networks. */
export type ForbiddenRange = 'loopback' | 'private' | 'link-local' | 'host';

const RANGES: Array<[ForbiddenRange, string, number, 'ipv4' | 'ipv6']> = [
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  // 0.0.0.0/8 "this host": connecting to 0.0.0.0 reaches the host's own loopback services.
  ['loopback', '0.0.0.0', 8, 'ipv4'],
  ['loopback', '::1', 128, 'ipv6'],
  ['loopback', '::', 128, 'ipv6'],
  ['private', '10.0.0.0', 8, 'ipv4'],
  ['private', '172.16.0.0', 12, 'ipv4'],
  ['private', '192.168.0.0', 16, 'ipv4'],
  ['private', 'fc00::', 7, 'ipv6'],
  ['link-local', '169.254.0.0', 16, 'ipv4'],
  ['link-local', 'fe80::', 10, 'ipv6'],
];

const lists = new Map<ForbiddenRange, BlockList>();
for (const [range, network, prefix, family] of RANGES) {
  const list = lists.get(range) ?? new BlockList();
  list.addSubnet(network, prefix, family);
  lists.set(range, list);
}

/** Every address of the host's own interfaces (loopback included): a service bound to 0.0.0.0 answers on each. */
export function listOwnAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((iface) => iface.address.replace(/%.*$/, ''));
}

/**
 * The range that forbids an address, or undefined when the proxy may connect to it. Loopback, private
 * (RFC 1918, ULA fc00::/7), link-local (169.254/16, fe80::/10) and the host's own addresses only:
 * nothing else is refused by range. An IPv4-mapped IPv6 address is judged as its IPv4 address; a string
 * that is not an address is refused as loopback (the safe answer).
 */
export function classifyAddress(
  address: string,
  ownAddresses: readonly string[],
): ForbiddenRange | undefined {
  const plain = unmapped(address.replace(/%.*$/, ''));
  const family = isIP(plain);
  if (family === 0) return 'loopback';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const [range, list] of lists) if (list.check(plain, type)) return range;
  if (ownAddresses.some((own) => sameAddress(own, plain))) return 'host';
  return undefined;
}

function unmapped(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped?.[1] ?? address;
}

function sameAddress(a: string, b: string): boolean {
  const x = unmapped(a);
  if (isIP(x) !== isIP(b)) return false;
  const list = new BlockList();
  list.addAddress(x, isIP(x) === 4 ? 'ipv4' : 'ipv6');
  return list.check(b, isIP(b) === 4 ? 'ipv4' : 'ipv6');
}
