import type { TaskDiff } from '../../domain/ports.js';
import { type Html, html } from './html.js';
import { type DiffFile, type DiffLine, parseDiff } from './parse-diff.js';

/** A file with more changed lines than this starts collapsed: one lock file should not bury the rest. */
export const LARGE_FILE_LINES = 400;

const STATUS_LETTER: Record<DiffFile['status'], string> = {
  added: 'A',
  deleted: 'D',
  renamed: 'R',
  modified: 'M',
};

/** The task page's "Changes": the file list, then each file's hunks with old and new line numbers. */
export function renderDiff(diff: TaskDiff | null): Html {
  if (!diff || (diff.patch.trim() === '' && diff.files.length === 0)) {
    return html`<p class="empty">No changes pushed yet.</p>`;
  }
  const parsed = parseDiff(diff.patch);
  const additions = parsed.files.reduce((n, f) => n + f.additions, 0);
  const deletions = parsed.files.reduce((n, f) => n + f.deletions, 0);
  const files = parsed.files.length > 0 ? parsed.files : diff.files.map(pathOnly);
  return html`<p class="diff-totals">${files.length} ${files.length === 1 ? 'file' : 'files'} changed,
      <span class="adds">+${additions}</span> <span class="dels">−${deletions}</span></p>
    <ol class="diff-files">${files.map(renderFileLink)}</ol>
    ${files.map(renderFile)}
    ${parsed.notes.length > 0 ? html`<p class="note diff-note">${parsed.notes.join('\n')}</p>` : ''}`;
}

function pathOnly(path: string): DiffFile {
  return { path, status: 'modified', binary: false, additions: 0, deletions: 0, hunks: [] };
}

function renderFileLink(file: DiffFile, index: number): Html {
  return html`<li><a href="#file-${index + 1}"><span class="file-status ${file.status}" title="${file.status}">${STATUS_LETTER[file.status]}</span>
    <span class="file-path">${file.path}</span></a>${counts(file)}</li>`;
}

function counts(file: DiffFile): Html {
  return html`<span class="file-counts"><span class="adds">+${file.additions}</span> <span class="dels">−${file.deletions}</span></span>`;
}

function renderFile(file: DiffFile, index: number): Html {
  const changed = file.additions + file.deletions;
  const large = changed > LARGE_FILE_LINES;
  const renamed = file.oldPath ? html`<span class="file-old-path">${file.oldPath} →</span> ` : '';
  return html`<details class="diff-file${large ? ' large' : ''}" id="file-${index + 1}"${large ? '' : html` open`}>
    <summary><span class="file-status ${file.status}" title="${file.status}">${STATUS_LETTER[file.status]}</span>
      ${renamed}<span class="file-path">${file.path}</span>${counts(file)}${
        large ? html`<span class="badge">large: ${changed} lines, shown on demand</span>` : ''
      }</summary>
    ${renderFileBody(file)}
  </details>`;
}

function renderFileBody(file: DiffFile): Html {
  if (file.binary) return html`<p class="empty">Binary file, not shown.</p>`;
  if (file.hunks.length === 0) {
    return html`<p class="empty">${file.status === 'renamed' ? 'Renamed without changes.' : 'No lines to show.'}</p>`;
  }
  return html`<div class="diff-scroll"><table class="diff-table"><tbody>${file.hunks.map(
    (
      hunk,
    ) => html`<tr class="hunk"><td class="ln"></td><td class="ln"></td><td class="code">${hunk.header}</td></tr>
      ${pairChanges(hunk.lines).map(renderLine)}`,
  )}</tbody></table></div>`;
}

interface ShownLine extends DiffLine {
  /** The part of a changed line that differs from its counterpart: [start, end). */
  changed?: [number, number];
}

function renderLine(line: ShownLine): Html {
  if (line.kind === 'note') {
    return html`<tr class="line note"><td class="ln"></td><td class="ln"></td><td class="code">${line.text}</td></tr>`;
  }
  const mark = line.kind === 'add' ? '+' : line.kind === 'del' ? '-' : ' ';
  const text = line.changed
    ? html`${line.text.slice(0, line.changed[0])}<span class="chg">${line.text.slice(...line.changed)}</span>${line.text.slice(line.changed[1])}`
    : line.text;
  return html`<tr class="line ${line.kind}"><td class="ln">${line.oldNo ?? ''}</td><td class="ln">${line.newNo ?? ''}</td><td class="code"><span class="mark">${mark}</span>${text}</td></tr>`;
}

/**
 * Marks what changed inside a line: a run of deletions followed by a run of additions is paired line
 * by line, and the part between their common start and common end is highlighted.
 */
function pairChanges(lines: DiffLine[]): ShownLine[] {
  const shown: ShownLine[] = lines.map((l) => ({ ...l }));
  let i = 0;
  while (i < shown.length) {
    if (shown[i]?.kind !== 'del') {
      i++;
      continue;
    }
    const delStart = i;
    while (shown[i]?.kind === 'del') i++;
    const addStart = i;
    while (shown[i]?.kind === 'add') i++;
    const pairs = Math.min(addStart - delStart, i - addStart);
    for (let k = 0; k < pairs; k++) {
      markChange(shown[delStart + k] as ShownLine, shown[addStart + k] as ShownLine);
    }
  }
  return shown;
}

function markChange(del: ShownLine, add: ShownLine): void {
  const a = del.text;
  const b = add.text;
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let end = 0;
  while (
    end < a.length - start &&
    end < b.length - start &&
    a[a.length - 1 - end] === b[b.length - 1 - end]
  ) {
    end++;
  }
  // A line rewritten almost whole reads better without a highlight than with one over everything.
  const same = start + end;
  if (same === 0 || same < Math.min(a.length, b.length) / 4) return;
  if (a.length - end > start) del.changed = [start, a.length - end];
  if (b.length - end > start) add.changed = [start, b.length - end];
}
