import type { ScriptedTurn } from './scripted-model.js';

/** The demo repository: a small library with a failing test. */
export const DEMO_FILES: Record<string, string> = {
  'README.md': '# demo\n\nA tiny library that Patchbay fixes in the demo.\n',
  'AGENTS.md': 'Run the tests with `node test.js`. Keep changes small.\n',
  'package.json': '{ "name": "demo", "version": "1.0.0", "type": "module" }\n',
  'src/slugify.js': [
    'export function slugify(text) {',
    "  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-');",
    '}',
    '',
  ].join('\n'),
  'test.js': [
    "import assert from 'node:assert/strict';",
    "import { slugify } from './src/slugify.js';",
    '',
    "assert.equal(slugify('Hello World'), 'hello-world');",
    "assert.equal(slugify('  Fix the flaky login test!  '), 'fix-the-flaky-login-test');",
    "console.log('2 tests passed');",
    '',
  ].join('\n'),
};

export const DEMO_INSTRUCTION =
  'slugify leaves dashes at both ends of the slug; fix it so that the tests pass';

/** What the scripted model answers, turn by turn: a believable short session, not a real model. */
export const DEMO_SCRIPT: ScriptedTurn[] = [
  { tool: 'bash', args: { command: 'node test.js' } },
  { tool: 'read_file', args: { path: 'src/slugify.js' } },
  {
    tool: 'edit_file',
    args: {
      path: 'src/slugify.js',
      old_text: "  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-');",
      new_text:
        "  return text\n    .toLowerCase()\n    .replace(/[^a-z0-9]+/g, '-')\n    .replace(/^-+|-+$/g, '');",
    },
  },
  { tool: 'bash', args: { command: 'node test.js' } },
  {
    tool: 'finish',
    args: {
      title: 'Trim leading and trailing dashes in slugify',
      summary:
        'slugify now strips the dashes that punctuation and spaces left at both ends; `node test.js` passes.',
    },
  },
];

/** What the reviewer writes on the pull request: a follow-up on the same branch. */
export const DEMO_REVIEW_COMMENT = '@patchbay please also cover text made only of punctuation';

/** The scripted model's answers for the review follow-up. */
export const DEMO_REVIEW_SCRIPT: ScriptedTurn[] = [
  {
    tool: 'edit_file',
    args: {
      path: 'test.js',
      old_text: "console.log('2 tests passed');",
      new_text: "assert.equal(slugify('?!...'), '');\nconsole.log('3 tests passed');",
    },
  },
  { tool: 'bash', args: { command: 'node test.js' } },
  {
    tool: 'finish',
    args: {
      title: 'Test slugify on punctuation only',
      summary: 'Added a test: text made only of punctuation becomes an empty slug; `node test.js` passes.',
    },
  },
];
