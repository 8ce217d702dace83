import { networkInterfaces } from 'node:os';

/** slirp4netns's fixed layout: the sandbox is 10.0.2.100, 10.0.2.2 is the host, 10.0.2.3 its DNS forwarder. */
export const SLIRP_GATEWAY = '10.0.2.2';
export const SLIRP_DNS = '10.0.2.3';
export const SLIRP_DEVICE = 'tap0';
/** The fd the namespace script hands bwrap the generated resolv.conf on (`--ro-bind-data`). */
export const RESOLV_CONF_FD = 5;

/**
 * Destinations a setup command must not reach even with internet access. Each becomes a `prohibit` route
 * inside the sandbox's own network namespace; slirp4netns's `--disable-host-loopback` separately refuses
 * the host's 127.0.0.0/8.
 */
const BLOCKED_RANGES = [
  '169.254.0.0/16', // link-local: cloud metadata (169.254.169.254) and friends
  '10.0.0.0/8', // private networks: compose neighbours (Redis), the LAN, the VPC; slirp's
  '172.16.0.0/12', // own 10.0.2.0/24 is a more specific route and keeps its DNS at 10.0.2.3
  '192.168.0.0/16',
  '100.64.0.0/10', // carrier-grade NAT and overlay networks
  '224.0.0.0/4', // multicast
  `${SLIRP_GATEWAY}/32`, // the gateway is the host itself
];

/** The host's own non-loopback IPv4 addresses: a service bound to 0.0.0.0 answers on them. */
export function listHostAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((iface) => iface.family === 'IPv4' && !iface.internal)
    .map((iface) => iface.address);
}

/** Every IPv4 destination the internet mode blocks, as CIDRs. */
export function buildBlockedRoutes(hostAddresses: readonly string[]): string[] {
  const hosts = hostAddresses.filter(isIpv4).map((address) => `${address}/32`);
  return [...new Set([...BLOCKED_RANGES, ...hosts])];
}

/** An `ip -batch` script: loopback up (unshare leaves it down), then one prohibit route per range. */
export function buildRouteBatch(cidrs: readonly string[]): string {
  return ['link set lo up', ...cidrs.map((cidr) => `route add prohibit ${cidr}`)].join('\n');
}

/**
 * Runs as root of a fresh user+network namespace (`unshare --user --map-root-user --net`), which owns
 * that network namespace. It installs the prohibit routes, reports on fd 3, waits on fd 4 until slirp4netns
 * is attached (or given up), then execs bwrap with `--share-net`. The command lives in bwrap's nested
 * user namespace, where it holds no capability over the outer one's network: it cannot undo the routes.
 * Arguments come as positional parameters, never spliced into the script: $1 ip, $2 batch, then bwrap's argv.
 */
export const NAMESPACE_SCRIPT = [
  'ip="$1"; batch="$2"; shift 2',
  'if err=$(printf \'%s\\n\' "$batch" | "$ip" -batch - 2>&1); then echo ok >&3; else echo "routes failed: $err" >&3; fi',
  'exec 3>&-',
  'read -r _ <&4 || true',
  'exec 4<&-',
  `exec "$@" ${RESOLV_CONF_FD}<<'EOF'`,
  `nameserver ${SLIRP_DNS}`,
  'options edns0',
  'EOF',
  '',
].join('\n');

export interface NamespaceArgvInput {
  unshare: string;
  ip: string;
  routeBatch: string;
  bwrap: string;
  bwrapArgs: readonly string[];
}

/** The argv that starts the namespace script under unshare; its pid ends up being bwrap's. */
export function buildNamespaceArgv(input: NamespaceArgvInput): { file: string; args: string[] } {
  const script = ['/bin/sh', '-c', NAMESPACE_SCRIPT, 'patchbay-netns', input.ip, input.routeBatch];
  return {
    file: input.unshare,
    args: ['--user', '--map-root-user', '--net', '--', ...script, input.bwrap, ...input.bwrapArgs],
  };
}

function isIpv4(address: string): boolean {
  return /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(address);
}
