import { describe, expect, it } from 'vitest';
import { parseDiff } from '../../src/server/pages/parse-diff.js';

describe('parseDiff', () => {
  it('reads files, hunks and line numbers on both sides', () => {
    const patch = [
      'diff --git a/src/a.ts b/src/a.ts',
      'index 1..2 100644',
      '--- a/src/a.ts',
      '+++ b/src/a.ts',
      '@@ -10,3 +10,4 @@ function f() {',
      ' keep',
      '-old',
      '+new',
      '+added',
      ' tail',
    ].join('\n');

    const { files, notes } = parseDiff(patch);

    expect(notes).toEqual([]);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatchObject({ path: 'src/a.ts', status: 'modified', additions: 2, deletions: 1 });
    expect(files[0]?.hunks[0]?.lines).toEqual([
      { kind: 'context', text: 'keep', oldNo: 10, newNo: 10 },
      { kind: 'del', text: 'old', oldNo: 11 },
      { kind: 'add', text: 'new', newNo: 11 },
      { kind: 'add', text: 'added', newNo: 12 },
      { kind: 'context', text: 'tail', oldNo: 12, newNo: 13 },
    ]);
  });

  it('tells added, deleted, renamed and binary files apart, paths with spaces included', () => {
    const patch = [
      'diff --git a/new file.txt b/new file.txt',
      'new file mode 100644',
      '--- /dev/null',
      '+++ b/new file.txt',
      '@@ -0,0 +1 @@',
      '+hello',
      'diff --git a/gone.txt b/gone.txt',
      'deleted file mode 100644',
      '--- a/gone.txt',
      '+++ /dev/null',
      '@@ -1 +0,0 @@',
      '-bye',
      'diff --git a/old.ts b/moved.ts',
      'similarity index 100%',
      'rename from old.ts',
      'rename to moved.ts',
      'diff --git a/logo.png b/logo.png',
      'Binary files a/logo.png and b/logo.png differ',
    ].join('\n');

    const { files } = parseDiff(patch);

    expect(files.map((f) => [f.path, f.status, f.binary, f.oldPath])).toEqual([
      ['new file.txt', 'added', false, undefined],
      ['gone.txt', 'deleted', false, undefined],
      ['moved.ts', 'renamed', false, 'old.ts'],
      ['logo.png', 'modified', true, undefined],
    ]);
  });

  it('keeps a line that looks like a header inside a hunk, and the note at the end outside any file', () => {
    const patch = [
      'diff --git a/notes.md b/notes.md',
      '--- a/notes.md',
      '+++ b/notes.md',
      '@@ -1,2 +1,2 @@',
      '--- a list item',
      '+++ a list item',
      ' diff --git is not a header here',
      '\\ No newline at end of file',
      '[diff cut at 1 MiB: 3 more files not shown]',
    ].join('\n');

    const { files, notes } = parseDiff(patch);

    expect(files[0]?.hunks[0]?.lines.map((l) => [l.kind, l.text])).toEqual([
      ['del', '-- a list item'],
      ['add', '++ a list item'],
      ['context', 'diff --git is not a header here'],
      ['note', 'No newline at end of file'],
    ]);
    expect(notes).toEqual(['[diff cut at 1 MiB: 3 more files not shown]']);
  });
});
