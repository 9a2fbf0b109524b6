// Unified diffs of small text files (what `harden --dry-run` would change in the guest), as
// `diff -u` prints them: `---`/`+++` headers (`/dev/null` for a file created or removed), hunks
// with three lines of context, `\ No newline at end of file` where one is missing. Pure. The
// line matching is a longest-common-subsequence table: configuration files are a few hundred
// lines at most, and beyond a size where the table would be large the whole file is one hunk.
const MAX_TABLE_CELLS = 4_000_000;

interface Line { text: string; newline: boolean }
type Op = { kind: " " | "-" | "+"; line: Line };

/** The diff from `before` to `after` (null: the file does not exist); "" when they are equal. */
export function unifiedDiff(before: string | null, after: string | null, name: string, context = 3): string {
  if (before === after) return "";
  const ops = editScript(linesOf(before), linesOf(after));
  const changed = ops.flatMap((op, i) => (op.kind === " " ? [] : [i]));
  if (changed.length === 0) return "";
  const out = [`--- ${before === null ? "/dev/null" : `a${name}`}`, `+++ ${after === null ? "/dev/null" : `b${name}`}`];

  // Line numbers before each op, in the old and the new file.
  const oldAt: number[] = [];
  const newAt: number[] = [];
  let o = 0;
  let n = 0;
  for (const op of ops) {
    oldAt.push(o);
    newAt.push(n);
    if (op.kind !== "+") o++;
    if (op.kind !== "-") n++;
  }
  // Hunks whose contexts would touch are one, as in diff: at most 2 × context unchanged lines apart.
  let first = 0;
  while (first < changed.length) {
    let last = first;
    while (last + 1 < changed.length && changed[last + 1]! - changed[last]! <= 2 * context + 1) last++;
    const start = Math.max(0, changed[first]! - context);
    const end = Math.min(ops.length - 1, changed[last]! + context);
    const hunk = ops.slice(start, end + 1);
    const oldCount = hunk.filter((op) => op.kind !== "+").length;
    const newCount = hunk.filter((op) => op.kind !== "-").length;
    // An empty side is numbered by the line before it (`-0,0` for a new file), as diff does.
    const oldStart = oldCount === 0 ? oldAt[start]! : oldAt[start]! + 1;
    const newStart = newCount === 0 ? newAt[start]! : newAt[start]! + 1;
    out.push(`@@ -${range(oldStart, oldCount)} +${range(newStart, newCount)} @@`);
    for (const op of hunk) {
      out.push(`${op.kind}${op.line.text}`);
      if (!op.line.newline) out.push("\\ No newline at end of file");
    }
    first = last + 1;
  }
  return `${out.join("\n")}\n`;
}

function range(start: number, count: number): string {
  return count === 1 ? String(start) : `${start},${count}`;
}

function linesOf(text: string | null): Line[] {
  if (text === null || text === "") return [];
  const parts = text.split("\n");
  const endsWithNewline = parts[parts.length - 1] === "";
  if (endsWithNewline) parts.pop();
  return parts.map((part, i) => ({ text: part, newline: endsWithNewline || i < parts.length - 1 }));
}

const same = (a: Line, b: Line) => a.text === b.text && a.newline === b.newline;

/** Deletions before insertions where both are possible, as diff prints a changed line. */
function editScript(a: Line[], b: Line[]): Op[] {
  if ((a.length + 1) * (b.length + 1) > MAX_TABLE_CELLS) return [...a.map((line) => ({ kind: "-" as const, line })), ...b.map((line) => ({ kind: "+" as const, line }))];
  // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
  const lcs = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = same(a[i]!, b[j]!) ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && same(a[i]!, b[j]!)) {
      ops.push({ kind: " ", line: a[i++]! });
      j++;
    } else if (j >= b.length || (i < a.length && lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      ops.push({ kind: "-", line: a[i++]! });
    } else {
      ops.push({ kind: "+", line: b[j++]! });
    }
  }
  return ops;
}
