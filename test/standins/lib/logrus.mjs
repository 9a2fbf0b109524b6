// limactl logs through logrus' TextFormatter to stderr. Into a pipe (how LimaWAN runs it) a line
// reads `time="2026-09-13T23:00:43+01:00" level=fatal msg="unmatched instances"`; on a terminal
// it is coloured and short: `FATA[0000] unmatched instances`. Fields follow msg, sorted by key.
import { goQuote, rfc3339 } from "./go-format.mjs";

const started = Date.now();
const LEVELS = { debug: ["DEBU", 37], info: ["INFO", 36], warning: ["WARN", 33], error: ["ERRO", 31], fatal: ["FATA", 31] };

/** logrus' needsQuoting: anything outside [A-Za-z0-9-._/@^+] is printed with %q. */
function value(text) {
  const s = String(text);
  return /^[A-Za-z0-9\-._/@^+]*$/.test(s) && s !== "" ? s : goQuote(s);
}

export function formatEntry(level, message, fields = {}, { tty = Boolean(process.stderr.isTTY), json = false } = {}) {
  const msg = message.replace(/\n$/, "");
  const keys = Object.keys(fields).sort();
  if (json) {
    const entry = {};
    for (const key of keys) entry[key] = String(fields[key]);
    Object.assign(entry, { level, msg, time: rfc3339() });
    return JSON.stringify(entry);
  }
  if (tty) {
    const [text, colour] = LEVELS[level];
    const seconds = String(Math.floor((Date.now() - started) / 1000)).padStart(4, "0");
    let line = `\x1b[${colour}m${text}\x1b[0m[${seconds}] ${msg.padEnd(44)} `;
    for (const key of keys) line += ` \x1b[${colour}m${key}\x1b[0m=${value(fields[key])}`;
    return line;
  }
  let line = `time=${value(rfc3339())} level=${level} msg=${value(msg)}`;
  for (const key of keys) line += ` ${key}=${value(fields[key])}`;
  return line;
}

let jsonFormat = false;

/** `--log-format json` (a limactl global flag). */
export function useJsonFormat(on) {
  jsonFormat = on;
}

export const log = {
  info: (msg, fields) => process.stderr.write(formatEntry("info", msg, fields, { json: jsonFormat }) + "\n"),
  warn: (msg, fields) => process.stderr.write(formatEntry("warning", msg, fields, { json: jsonFormat }) + "\n"),
  error: (msg, fields) => process.stderr.write(formatEntry("error", msg, fields, { json: jsonFormat }) + "\n"),
  /** logrus.Fatal: print, then exit 1. */
  fatal(msg, fields) {
    process.stderr.write(formatEntry("fatal", msg, fields, { json: jsonFormat }) + "\n");
    process.exit(1);
  },
};

/** A user-facing failure of the stand-in itself (not a Lima behaviour): loud, exit 1. */
export function standinFailure(program, message) {
  process.stderr.write(`${program} (LimaWAN test stand-in): ${message}\n`);
  process.exit(1);
}
