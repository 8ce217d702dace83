/** The parts of Octokit's `request` an auth hook uses; structural, so no transitive package is imported. */
interface HookRequest {
  (options: unknown): Promise<unknown>;
  endpoint: { merge(route: unknown, parameters?: unknown): { headers: Record<string, unknown> } };
}

/**
 * An Octokit auth strategy that asks `token()` before every request, so that a client built once per
 * GitHub App installation always sends a current installation token: `token()` owns the caching and
 * the refresh. The retry plugin and the rate-limit hook wrap this hook, so a retried request asks again.
 */
export function installationTokenAuth({ token }: { token: () => Promise<string> }) {
  async function auth() {
    return { type: 'token', tokenType: 'installation', token: await token() };
  }
  async function hook(request: HookRequest, route: unknown, parameters?: unknown) {
    const endpoint = request.endpoint.merge(route, parameters);
    endpoint.headers.authorization = `token ${await token()}`;
    return request(endpoint);
  }
  return Object.assign(auth, { hook });
}
