/** Inside the sandbox: the task's proxy directory (socket and forwarder), and the node that runs it. */
export const PROXY_MOUNT = '/run/patchbay/proxy';
export const PROXY_NODE = '/run/patchbay/node';
export const PROXY_SOCKET_FILE = 'proxy.sock';
export const FORWARDER_FILE = 'forward.cjs';
/** The port the forwarder listens on, on the sandbox's own loopback (its own network namespace). */
export const PROXY_PORT = 3128;

/**
 * The forwarder: listens on 127.0.0.1:PORT of the sandbox's network namespace and passes each
 * connection to the proxy's Unix socket. It prints one line once it listens. It holds no secret and
 * decides nothing: the proxy on the host does.
 */
export const FORWARDER_SOURCE = `'use strict';
const net = require('node:net');
const [socketPath, port] = process.argv.slice(2);
const server = net.createServer((client) => {
  const proxy = net.connect(socketPath);
  client.on('error', () => proxy.destroy());
  proxy.on('error', () => client.destroy());
  client.pipe(proxy);
  proxy.pipe(client);
});
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\\n', () => process.stdout.destroy()));
`;

/**
 * Runs in the sandbox's shell before the command: starts the forwarder in the background (its output
 * is a pipe the shell reads once, then closes) and waits until it listens, so the command's first
 * request finds it. The forwarder dies with the sandbox's pid namespace.
 */
export function buildForwarderPrelude(): string {
  const start = `exec 3< <(exec ${PROXY_NODE} ${PROXY_MOUNT}/${FORWARDER_FILE} ${PROXY_MOUNT}/${PROXY_SOCKET_FILE} ${PROXY_PORT} 2>/dev/null)`;
  const wait = `read -r _ <&3 || echo "patchbay: the network proxy did not start" >&2; exec 3<&-`;
  return `${start}; ${wait}`;
}

/** The proxy variables of the agent's commands: both spellings, as tools read one or the other. */
export function buildProxyEnv(): Record<string, string> {
  const url = `http://127.0.0.1:${PROXY_PORT}`;
  const noProxy = 'localhost,127.0.0.1,::1';
  return {
    HTTP_PROXY: url,
    HTTPS_PROXY: url,
    http_proxy: url,
    https_proxy: url,
    NO_PROXY: noProxy,
    no_proxy: noProxy,
    // Node versions that know it read the variables above for fetch() with this set; older ones ignore it.
    NODE_USE_ENV_PROXY: '1',
  };
}
