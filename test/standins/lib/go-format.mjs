// How Go programs (limactl, its logrus logger) print strings and times, so the stand-ins'
// stderr and event files read like the real ones.

/** Go's %q (strconv.Quote) for the ASCII/UTF-8 text the stand-ins print. */
export function goQuote(text) {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0);
    if (ch === '"' || ch === "\\") out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (code < 0x20 || code === 0x7f) out += "\\x" + code.toString(16).padStart(2, "0");
    else out += ch;
  }
  return out + '"';
}

/** Go's %#q: a raw `backquoted` string when strconv.CanBackquote allows it, else %q. */
export function goQuoteRaw(text) {
  const canBackquote = [...text].every((ch) => ch !== "`" && ch !== "\uFEFF" && (ch === "\t" || ch.codePointAt(0) >= 0x20) && ch.codePointAt(0) !== 0x7f);
  return canBackquote ? "`" + text + "`" : goQuote(text);
}

function offsetSuffix(date, utcZ) {
  const minutes = -date.getTimezoneOffset();
  if (minutes === 0 && utcZ) return "Z";
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

function localDateTime(date) {
  const p = (n, w = 2) => String(n).padStart(w, "0");
  return `${p(date.getFullYear(), 4)}-${p(date.getMonth() + 1)}-${p(date.getDate())}T${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}`;
}

/**
 * Nanoseconds since the epoch with sub-millisecond precision that agrees across processes
 * (performance.timeOrigin is the wall clock at process start, performance.now() a monotonic
 * offset): events of different processes must order like their writes did.
 */
export function nowNs() {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
}

/**
 * Go's time.RFC3339Nano in local time, as json.Encoder writes a time.Time:
 * `2026-08-22T10:15:02.418735123+02:00` (trailing zeros of the fraction trimmed; `Z` in UTC).
 */
export function rfc3339Nano(ns = nowNs()) {
  const date = new Date(Number(ns / 1_000_000n));
  const fraction = String(ns % 1_000_000_000n).padStart(9, "0").replace(/0+$/, "");
  return `${localDateTime(date)}${fraction ? "." + fraction : ""}${offsetSuffix(date, true)}`;
}

/** Go's time.RFC3339 (logrus' full timestamp). */
export function rfc3339(date = new Date()) {
  return `${localDateTime(date)}${offsetSuffix(date, true)}`;
}

/** Go's time.DateTime (`2006-01-02 15:04:05`), used by `limactl watch` status lines. */
export function dateTime(date = new Date()) {
  return localDateTime(date).replace("T", " ");
}

/** Parse an RFC3339(Nano) time to nanoseconds since the epoch (BigInt), or null. */
export function parseRfc3339Ns(text) {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(text ?? "");
  if (!m) return null;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return null;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? "").padEnd(9, "0") || "0");
}
