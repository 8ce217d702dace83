// Import boundaries of src/, checked by `npm run lint`.
//
// FOLDERS is ARCHITECTURE.md's table "Folders and who may import whom", one entry per row: change
// the two together. `imports` are the folders a row may import besides itself; `types` those it may
// import with `import type` only. The composition roots (ROOTS) and demo/ (the demo's own root) may
// import anything of ours but tests/, and only cli.ts starts the demo. SDKS says where each SDK may
// be imported, subpaths included.

const COMMON = ['domain', 'lib'];
// An integration registers routes on server/ and reaches tasks only through server's TaskServices.
const INTEGRATION = [...COMMON, 'config', 'server'];

/** @type {Record<string, { imports: string[], types?: string[] }>} */
const FOLDERS = {
  domain: { imports: [] },
  lib: { imports: [] },
  config: { imports: COMMON },
  queue: { imports: COMMON },
  tasks: { imports: [...COMMON, 'config', 'workspace', 'agent', 'sandbox'] },
  workspace: { imports: COMMON },
  sandbox: { imports: COMMON },
  agent: { imports: COMMON, types: ['sandbox'] },
  'integrations/github': { imports: INTEGRATION },
  'integrations/linear': { imports: INTEGRATION },
  'integrations/slack': { imports: INTEGRATION },
  server: { imports: [...COMMON, 'config'], types: ['tasks'] },
};

const ROOTS =
  '^src/(main|start-server|start-worker|start-inbox-process|inbox-process|build-github-access|build-automations|build-integrations|build-sign-in|build-worker-deps|cli|run-local|run-eval|schedules-command|cache-command)[.]ts$';
const DEMO = '^src/demo/';

// The composition roots build the SDK clients (DESIGN.md), so they may import any SDK.
const SDKS = {
  '@slack/*': 'integrations/slack',
  '@linear/*': 'integrations/linear',
  '@octokit/*': 'integrations/github',
  openai: 'agent',
  bullmq: 'queue',
  ioredis: 'queue',
  'prom-client': 'server',
};

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const folder = (name) => `^src/${escapeRegExp(name)}/`;
/** A package (or a scope, `@scope/*`) and its subpaths, resolved (…/node_modules/…) or bare. */
const pkg = (name) => {
  const head = escapeRegExp(name.replace(/\*$/, ''));
  const tail = name.endsWith('/*') ? '' : '(/|$)';
  return `(^|/)node_modules/${head}${tail}|^${head}${tail}`;
};

const TABLE = 'ARCHITECTURE.md, "Folders and who may import whom"';

const folderRules = Object.entries(FOLDERS).flatMap(([name, row]) => {
  const imports = row.imports.length > 0 ? row.imports.join(', ') : 'nothing of ours';
  const types = row.types ? `; ${row.types.join(', ')} as types only` : '';
  const comment = `${TABLE}: ${name}/ imports ${imports}${types}.`;
  return [
    {
      name: `folder ${name}`,
      comment,
      severity: 'error',
      from: { path: folder(name) },
      to: { path: '^src/', pathNot: [name, ...row.imports, ...(row.types ?? [])].map(folder) },
    },
    ...(row.types ?? []).map((typesOnly) => ({
      name: `folder ${name}: types of ${typesOnly}`,
      comment,
      severity: 'error',
      from: { path: folder(name) },
      to: { path: folder(typesOnly), dependencyTypesNot: ['type-only'] },
    })),
  ];
});

const sdkRules = Object.entries(SDKS).map(([name, home]) => ({
  name: `sdk ${name}`,
  comment: `${TABLE}: ${name} is imported in src/${home}/ only (and by the composition roots), subpaths included.`,
  severity: 'error',
  from: { path: '^src/', pathNot: [folder(home), ROOTS, DEMO] },
  to: { path: pkg(name) },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    ...folderRules,
    ...sdkRules,
    {
      name: 'folder without a row',
      comment: `Every folder of src/ has a row in ${TABLE} and in FOLDERS (.dependency-cruiser.mjs).`,
      severity: 'error',
      from: { path: '^src/', pathNot: [...Object.keys(FOLDERS).map(folder), ROOTS, DEMO] },
      to: {},
    },
    {
      name: 'demo only from cli',
      comment: `${TABLE}: only cli.ts starts the demo; its stand-ins never reach Patchbay's own start-up.`,
      severity: 'error',
      from: { path: ROOTS, pathNot: '^src/cli[.]ts$' },
      to: { path: DEMO },
    },
    {
      name: 'no tests from src',
      comment: 'dist/ ships without tests/: what only tests and bench/ use lives there, not in src/.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(tests|bench)/' },
    },
    {
      name: 'no devDependency from src',
      comment:
        'The Docker image runs dist/ after npm prune --omit=dev, so src/ imports dependencies only (.ci/check-dist-loads).',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'] },
    },
    {
      name: 'no undeclared package',
      comment: 'A package src/ imports is in package.json dependencies, not only there as a transitive one.',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'no unresolvable import',
      comment: 'The import names a module that does not exist.',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // `import type` counts: a type from an SDK or a folder still ties the importer to it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
  },
};
