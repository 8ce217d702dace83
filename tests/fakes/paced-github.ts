import { type GitHubStandIn, startGitHubStandIn } from '../../src/demo/github-stand-in.js';

/**
 * The GitHub stand-in enforcing a write pace per token, with pull request #1 on `acme/web` for
 * comments and reactions (tests/integration/github-write-pace.test.ts, bench/eyes.ts).
 */
export async function startPacedGitHub(
  opts: { token: string; writePaceMs: number } & Pick<
    Parameters<typeof startGitHubStandIn>[0],
    'beforeWriteAnswer'
  >,
): Promise<GitHubStandIn> {
  const github = await startGitHubStandIn({ repos: [{ name: 'acme/web' }], ...opts });
  github.addPull({
    repo: 'acme/web',
    head: { ref: 'patchbay/x', label: 'acme:patchbay/x' },
    base: { ref: 'main' },
    title: 'x',
    body: '',
    draft: false,
    user: { login: 'patchbay[bot]' },
  });
  return github;
}
