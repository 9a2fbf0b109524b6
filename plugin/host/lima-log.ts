// limactl's log lines on stderr: logrus' TextFormatter into a pipe (how LimaWAN runs it),
// `time="…" level=warning msg="instance \`web\` has errors" errors="[…]"`. A value is bare, or
// quoted with Go's %q when it holds anything outside [A-Za-z0-9-._/@^+] (logrus needsQuoting).
// Lima's text is someone else's: each value read here is bounded; callers escape it to show it.

/** Longer values are cut: a lima.yaml's error names a line, not the whole file. */
export const MAX_LOG_VALUE = 1_000;
/** A longer stderr is read only this far (a listing of hundreds of instances stays well below). */
const MAX_LOG_TEXT = 1024 * 1024;

export type LogEntry = ReadonlyMap<string, string>;

/** Every logrus text line of `stderr`, as key → value; other lines are skipped. */
export function parseLogLines(stderr: string): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const line of stderr.slice(0, MAX_LOG_TEXT).split("\n")) {
    const entry = parseLogLine(line);
    if (entry) entries.push(entry);
  }
  return entries;
}

/** One `key=value key="quoted value"` line, or null when it is not one (no `level=`). */
export function parseLogLine(line: string): LogEntry | null {
  const fields = new Map<string, string>();
  let i = 0;
  while (i < line.length) {
    while (line[i] === " ") i++;
    const key = /^[A-Za-z_][\w.-]*=/.exec(line.slice(i, i + 64))?.[0];
    if (!key) break;
    i += key.length;
    let value: string;
    if (line[i] === '"') {
      const quoted = goUnquote(line, i);
      if (!quoted) return null;
      value = quoted.value;
      i = quoted.end;
    } else {
      const end = line.indexOf(" ", i);
      value = line.slice(i, end < 0 ? line.length : end);
      i = end < 0 ? line.length : end;
    }
    fields.set(key.slice(0, -1), value.length > MAX_LOG_VALUE ? `${value.slice(0, MAX_LOG_VALUE)}…` : value);
  }
  return fields.has("level") && fields.has("msg") ? fields : null;
}

const SIMPLE_ESCAPES: Record<string, string> = { a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", "\\": "\\", '"': '"', "'": "'" };

/** A Go double-quoted string (strconv.Quote) starting at `start`: its value and where it ends. */
function goUnquote(text: string, start: number): { value: string; end: number } | null {
  let value = "";
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') return { value, end: i + 1 };
    if (c !== "\\") {
      value += c;
      continue;
    }
    const e = text[++i];
    if (e === undefined) return null;
    if (e in SIMPLE_ESCAPES) {
      value += SIMPLE_ESCAPES[e];
      continue;
    }
    const width = e === "x" ? 2 : e === "u" ? 4 : e === "U" ? 8 : /[0-7]/.test(e) ? 3 : 0;
    const digits = e === "x" || e === "u" || e === "U" ? text.slice(i + 1, i + 1 + width) : text.slice(i, i + width);
    const code = Number.parseInt(digits, /[0-7]/.test(e) ? 8 : 16);
    if (digits.length !== width || !Number.isFinite(code) || code > 0x10ffff) return null;
    // \xNN is one byte of UTF-8 Go could not print: shown as that code point, escaped later.
    value += String.fromCodePoint(code);
    i += /[0-7]/.test(e) ? width - 1 : width;
  }
  return null;
}

/**
 * `instance \`NAME\` has errors` warnings of `limactl list` → NAME → Lima's errors, as it printed
 * them (`[first second]`: Go prints a list of errors space-separated in brackets).
 */
export function instanceErrors(entries: readonly LogEntry[]): Map<string, string> {
  const errors = new Map<string, string>();
  for (const entry of entries) {
    const name = /^instance `(.*)` has errors$/s.exec(entry.get("msg") ?? "")?.[1];
    const text = entry.get("errors");
    if (name === undefined || text === undefined) continue;
    errors.set(name, text.replace(/^\[/, "").replace(/\]$/, ""));
  }
  return errors;
}

/** What a failed limactl said last: its fatal (or error) message, or null. */
export function fatalMessage(entries: readonly LogEntry[]): string | null {
  const last = [...entries].reverse().find((e) => e.get("level") === "fatal" || e.get("level") === "error");
  return last?.get("msg") ?? null;
}
