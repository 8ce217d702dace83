import type { ScriptedTurn } from '../../src/demo/scripted-model.js';

/** The model fixes greet.js the way a good model would: look, edit, test, finish. */
export const FIX_GREETING: ScriptedTurn[] = [
  { tool: 'read_file', args: { path: 'src/greet.js' } },
  {
    tool: 'edit_file',
    args: { path: 'src/greet.js', old_text: "'Hello ' + name", new_text: '`Hello, ${name}`' },
  },
  { tool: 'bash', args: { command: 'node test.js' } },
  {
    tool: 'finish',
    args: { title: 'Fix the greeting punctuation', summary: 'greet() now puts a comma after Hello.' },
  },
];

/** A follow-up: add a file on the same branch. */
export const ADD_CHANGELOG: ScriptedTurn[] = [
  { tool: 'write_file', args: { path: 'CHANGELOG.md', content: '- greeting fixed\n' } },
  { tool: 'finish', args: { title: 'Add a changelog entry', summary: 'Added CHANGELOG.md.' } },
];

/** Looks around for secrets, then finishes without a change. */
export const SNOOP: ScriptedTurn[] = [
  {
    tool: 'bash',
    args: { command: 'env; cat .git/config; cat /proc/*/environ 2>/dev/null | tr "\\0" "\\n"; ls /proc' },
  },
  {
    tool: 'bash',
    args: { command: 'git remote -v; git config --list --show-origin; cat ~/.git-credentials 2>&1' },
  },
  { tool: 'read_file', args: { path: '.git/config' } },
  { tool: 'finish', args: { title: 'Nothing to do', summary: 'Looked around; nothing needed changing.' } },
];
