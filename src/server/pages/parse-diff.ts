/** A unified diff (`git diff`) read into files, hunks and lines, for the task page's "Changes". */
export interface DiffLine {
  kind: 'context' | 'add' | 'del' | 'note';
  text: string;
  oldNo?: number;
  newNo?: number;
}

export interface DiffHunk {
  header: string;
  lines: DiffLine[];
}

export interface DiffFile {
  path: string;
  /** The path before a rename. */
  oldPath?: string;
  status: 'added' | 'deleted' | 'renamed' | 'modified';
  binary: boolean;
  additions: number;
  deletions: number;
  hunks: DiffHunk[];
}

export interface ParsedDiff {
  files: DiffFile[];
  /** Lines outside any file: e.g. the note that says what the cap cut. */
  notes: string[];
}

interface HunkState {
  hunk: DiffHunk;
  oldNo: number;
  newNo: number;
  oldLeft: number;
  newLeft: number;
}

const HUNK_HEADER = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

export function parseDiff(patch: string): ParsedDiff {
  const files: DiffFile[] = [];
  const notes: string[] = [];
  let file: DiffFile | undefined;
  let hunk: HunkState | undefined;
  const lines = patch.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const line of lines) {
    if (hunk && (hunk.oldLeft > 0 || hunk.newLeft > 0 || line.startsWith('\\'))) {
      readHunkLine(file as DiffFile, hunk, line);
      continue;
    }
    hunk = undefined;
    if (line.startsWith('diff --git ')) {
      file = newFile(line);
      files.push(file);
    } else if (file && HUNK_HEADER.test(line)) {
      hunk = startHunk(file, line);
    } else if (!file || !readFileHeader(file, line)) {
      notes.push(line);
      file = undefined;
    }
  }
  return { files, notes: notes.filter((n) => n.trim() !== '') };
}

function newFile(line: string): DiffFile {
  const rest = unquote(line.slice('diff --git '.length));
  // `a/P b/P`: with the same path on both sides the split is in the middle, spaces or not.
  const half = (rest.length - 1) / 2;
  const path =
    Number.isInteger(half) && rest.startsWith('a/') && rest.slice(half + 1) === `b/${rest.slice(2, half)}`
      ? rest.slice(2, half)
      : (rest.split(' b/').at(-1) ?? rest);
  return { path, status: 'modified', binary: false, additions: 0, deletions: 0, hunks: [] };
}

/** Reads one line of a file's header; false when it is not one. */
function readFileHeader(file: DiffFile, line: string): boolean {
  if (line.startsWith('new file mode')) file.status = 'added';
  else if (line.startsWith('deleted file mode')) file.status = 'deleted';
  else if (line.startsWith('rename from ')) {
    file.status = 'renamed';
    file.oldPath = unquote(line.slice('rename from '.length));
  } else if (line.startsWith('rename to ')) file.path = unquote(line.slice('rename to '.length));
  else if (line.startsWith('Binary files ')) file.binary = true;
  else if (line.startsWith('+++ ')) {
    const target = unquote(line.slice(4));
    if (target.startsWith('b/')) file.path = target.slice(2);
  } else if (line.startsWith('--- ')) {
    const source = unquote(line.slice(4));
    if (file.status === 'deleted' && source.startsWith('a/')) file.path = source.slice(2);
  } else if (
    !/^(index |old mode |new mode |similarity index |dissimilarity index |copy (from|to) )/.test(line)
  ) {
    return false;
  }
  return true;
}

function startHunk(file: DiffFile, line: string): HunkState {
  const m = HUNK_HEADER.exec(line) as RegExpExecArray;
  const hunk: DiffHunk = { header: line, lines: [] };
  file.hunks.push(hunk);
  return {
    hunk,
    oldNo: Number(m[1]),
    newNo: Number(m[3]),
    oldLeft: m[2] === undefined ? 1 : Number(m[2]),
    newLeft: m[4] === undefined ? 1 : Number(m[4]),
  };
}

function readHunkLine(file: DiffFile, s: HunkState, line: string): void {
  const mark = line[0];
  const text = line.slice(1);
  if (mark === '\\') {
    s.hunk.lines.push({ kind: 'note', text: line.slice(2) });
  } else if (mark === '+') {
    s.hunk.lines.push({ kind: 'add', text, newNo: s.newNo++ });
    s.newLeft--;
    file.additions++;
  } else if (mark === '-') {
    s.hunk.lines.push({ kind: 'del', text, oldNo: s.oldNo++ });
    s.oldLeft--;
    file.deletions++;
  } else {
    // A context line; some tools strip its leading space when the line is empty.
    s.hunk.lines.push({
      kind: 'context',
      text: mark === ' ' ? text : line,
      oldNo: s.oldNo++,
      newNo: s.newNo++,
    });
    s.oldLeft--;
    s.newLeft--;
  }
}

/** git quotes paths with unusual characters (`"a/t\303\244st"`); the page shows them as written. */
function unquote(path: string): string {
  return path.startsWith('"') && path.endsWith('"') ? path.slice(1, -1) : path;
}
