// limactl logs through logrus' TextFormatter to stderr. Into a pipe (how LimaWAN runs it) a line
// reads `time="2026-09-13T23:00:43+01:00" level=fatal msg="unmatched instances"`; on a terminal
// it is coloured and short: `FATA[0000] unmatched instances`. Fields follow msg, sorted by key.
import { goQuote, rfc3339 } from "./go-format.mjs";
import { proc } from "./proc.mjs";

const LEVELS = { debug: ["DEBU", 37], info: ["INFO", 36], warning: ["WARN", 33], error: ["ERRO", 31], fatal: ["FATA", 31] };

/** logrus' needsQuoting: anything outside [A-Za-z0-9-._/@^+] is printed with %q. */
function value(text) {
  const s = String(text);
  return /^[A-Za-z0-9\-._/@^+]*$/.test(s) && s !== "" ? s : goQuote(s);
}

export function formatEntry(level, message, fields = {}, { tty = proc.stderrIsTTY(), json = false } = {}) {
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
    const seconds = String(Math.floor((Date.now() - proc.started) / 1000)).padStart(4, "0");
    let line = `\x1b[${colour}m${text}\x1b[0m[${seconds}] ${msg.padEnd(44)} `;
    for (const key of keys) line += ` \x1b[${colour}m${key}\x1b[0m=${value(fields[key])}`;
    return line;
  }
  let line = `time=${value(rfc3339())} level=${level} msg=${value(msg)}`;
  for (const key of keys) line += ` ${key}=${value(fields[key])}`;
  return line;
}

/** `--log-format json` (a limactl global flag), for the rest of this call. */
export function useJsonFormat(on) {
  proc.jsonLog = on;
}

export const log = {
  info: (msg, fields) => proc.err(formatEntry("info", msg, fields, { json: Boolean(proc.jsonLog) }) + "\n"),
  warn: (msg, fields) => proc.err(formatEntry("warning", msg, fields, { json: Boolean(proc.jsonLog) }) + "\n"),
  error: (msg, fields) => proc.err(formatEntry("error", msg, fields, { json: Boolean(proc.jsonLog) }) + "\n"),
  /** logrus.Fatal: print, then exit 1. */
  fatal(msg, fields) {
    proc.err(formatEntry("fatal", msg, fields, { json: Boolean(proc.jsonLog) }) + "\n");
    proc.exit(1);
  },
};

/** A user-facing failure of the stand-in itself (not a Lima behaviour): loud, exit 1. */
export function standinFailure(program, message) {
  proc.err(`${program} (LimaWAN test stand-in): ${message}\n`);
  proc.exit(1);
}
