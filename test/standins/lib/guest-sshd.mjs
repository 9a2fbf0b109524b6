// OpenSSH's sshd and fail2ban as the stand-in guest models them: how sshd reads sshd_config
// (sshd_config(5): keywords case-insensitive, `Keyword value` or `Keyword=value`, the FIRST
// value obtained wins, Include expands its globs in lexical order where it stands, Match blocks
// apply only to matching connections so `sshd -T` without -C leaves them out), what `sshd -t`
// refuses, and which jails fail2ban loads from jail.conf, jail.d/*.conf and jail.local.
import path from "node:path";
import { listGuestDir, readGuestFile } from "./guest-fs.mjs";

/** Keywords sshd accepts here (a bad one stops sshd -t), with the defaults `sshd -T` prints. */
const SSHD_DEFAULTS = {
  port: "22",
  addressfamily: "any",
  listenaddress: "[::]:22 0.0.0.0:22",
  usepam: "yes",
  logingracetime: "120",
  x11forwarding: "no",
  permitrootlogin: "without-password",
  pubkeyauthentication: "yes",
  passwordauthentication: "yes",
  kbdinteractiveauthentication: "yes",
  permitemptypasswords: "no",
  maxauthtries: "6",
  maxsessions: "10",
  strictmodes: "yes",
  printmotd: "yes",
  authorizedkeysfile: ".ssh/authorized_keys .ssh/authorized_keys2",
  acceptenv: "",
  subsystem: "",
  allowusers: "",
  allowgroups: "",
  clientaliveinterval: "0",
  clientalivecountmax: "3",
  usedns: "no",
  allowtcpforwarding: "yes",
  allowagentforwarding: "yes",
  gatewayports: "no",
  permittunnel: "no",
  banner: "none",
  authenticationmethods: "any",
  loglevel: "INFO",
  syslogfacility: "AUTH",
  hostkey: "/etc/ssh/ssh_host_ed25519_key",
  tcpkeepalive: "yes",
  permituserenvironment: "no",
  forcecommand: "none",
  trustedusercakeys: "none",
};
const OTHER_KEYWORDS = new Set(["include", "match", "challengeresponseauthentication", "kexalgorithms", "ciphers", "macs", "hostkeyalgorithms", "pubkeyacceptedalgorithms", "compression", "permittty", "maxstartups"]);
const BOOLEAN = new Set(["usepam", "x11forwarding", "pubkeyauthentication", "passwordauthentication", "kbdinteractiveauthentication", "challengeresponseauthentication", "permitemptypasswords", "strictmodes", "printmotd", "usedns", "tcpkeepalive", "permittty"]);
const ROOT_LOGIN = new Set(["yes", "no", "prohibit-password", "without-password", "forced-commands-only"]);
const ALIASES = { challengeresponseauthentication: "kbdinteractiveauthentication" };

export const SSHD_CONFIG = "/etc/ssh/sshd_config";

/** sshd's reading of its configuration: { values (keyword → first value), errors (sshd -t's lines) }. */
export function readSshdConfig(root) {
  const values = new Map();
  const errors = [];
  const parse = (file, depth, inMatch) => {
    const text = readGuestFile(root, file);
    if (text === null) {
      if (depth === 0) errors.push(`${file}: No such file or directory`);
      return inMatch;
    }
    text.split("\n").forEach((raw, index) => {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) return;
      const m = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(line);
      const keyword = (m ? m[1] : line).toLowerCase();
      const value = (m ? m[2] : "").trim();
      const where = `${file} line ${index + 1}`;
      if (!(keyword in SSHD_DEFAULTS) && !OTHER_KEYWORDS.has(keyword)) {
        errors.push(`${file}: line ${index + 1}: Bad configuration option: ${m ? m[1] : line}`);
        return;
      }
      if (value === "" && keyword !== "match") {
        errors.push(`${where}: missing argument.`);
        return;
      }
      if (keyword === "match") {
        inMatch = true;
        return;
      }
      if (keyword === "include") {
        for (const pattern of value.split(/\s+/)) {
          const absolute = pattern.startsWith("/") ? pattern : `/etc/ssh/${pattern}`;
          const dir = path.posix.dirname(absolute);
          const glob = new RegExp(`^${path.posix.basename(absolute).replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
          for (const name of listGuestDir(root, dir).filter((n) => glob.test(n))) parse(`${dir}/${name}`, depth + 1, inMatch);
        }
        return;
      }
      const word = value.split(/\s+/)[0].toLowerCase();
      if (BOOLEAN.has(keyword) && !["yes", "no"].includes(word)) {
        errors.push(`${where}: unsupported option "${value}".`);
        return;
      }
      if (keyword === "permitrootlogin" && !ROOT_LOGIN.has(word)) {
        errors.push(`${where}: unsupported option "${value}".`);
        return;
      }
      const key = ALIASES[keyword] ?? keyword;
      if (!inMatch && !values.has(key)) values.set(key, value);
    });
    return inMatch;
  };
  parse(SSHD_CONFIG, 0, false);
  if (errors.length > 0) errors.push(`${SSHD_CONFIG}: terminating, ${errors.length} bad configuration options`);
  return { values, errors };
}

/** `sshd -T`: every keyword with its effective value, lower case, as OpenSSH prints them. */
export function sshdEffective(values) {
  const lines = [];
  for (const [keyword, fallback] of Object.entries(SSHD_DEFAULTS)) {
    let value = values.get(keyword) ?? fallback;
    if (value === "") continue;
    if (BOOLEAN.has(keyword)) value = value.toLowerCase();
    // OpenSSH prints prohibit-password under its old name.
    if (keyword === "permitrootlogin") value = value.toLowerCase() === "prohibit-password" ? "without-password" : value.toLowerCase();
    lines.push(`${keyword} ${value}`);
  }
  return lines;
}

// ------------------------------------------------------------------------------------------
// fail2ban

/** INI as fail2ban's ConfigParser reads it: sections, `key = value` or `key: value`, indented continuation lines. */
function parseIni(text) {
  const sections = new Map();
  let current = null;
  let lastKey = null;
  const errors = [];
  text.split("\n").forEach((raw, index) => {
    if (/^\s*([#;]|$)/.test(raw)) return;
    if (/^\s/.test(raw) && current && lastKey) {
      current.set(lastKey, `${current.get(lastKey)}\n${raw.trim()}`);
      return;
    }
    const section = /^\[([^\]]+)\]\s*$/.exec(raw);
    if (section) {
      current = sections.get(section[1]) ?? new Map();
      sections.set(section[1], current);
      lastKey = null;
      return;
    }
    const pair = /^([^=:\s][^=:]*?)\s*[=:]\s*(.*)$/.exec(raw);
    if (!pair || !current) {
      errors.push(`line ${index + 1}: ${JSON.stringify(raw)}`);
      return;
    }
    lastKey = pair[1].trim();
    current.set(lastKey, pair[2].trim());
  });
  return { sections, errors };
}

const BACKENDS = new Set(["auto", "systemd", "polling", "pyinotify", "gamin"]);
const PORT_NAMES = new Set(["ssh", "http", "https", "smtp", "ftp", "imap", "imaps", "pop3", "pop3s", "submission", "all"]);

/**
 * The jails fail2ban starts: jail.conf, then jail.d/*.conf, jail.local, jail.d/*.local, later
 * files overriding earlier keys. Returns { jails: [{name, filter, port, backend, ignoreip}], errors }.
 */
export function readFail2banJails(root) {
  const files = ["/etc/fail2ban/jail.conf"];
  files.push(...listGuestDir(root, "/etc/fail2ban/jail.d").filter((n) => n.endsWith(".conf")).map((n) => `/etc/fail2ban/jail.d/${n}`));
  files.push("/etc/fail2ban/jail.local");
  files.push(...listGuestDir(root, "/etc/fail2ban/jail.d").filter((n) => n.endsWith(".local")).map((n) => `/etc/fail2ban/jail.d/${n}`));
  const merged = new Map();
  const errors = [];
  for (const file of files) {
    const text = readGuestFile(root, file);
    if (text === null) continue;
    const parsed = parseIni(text);
    for (const e of parsed.errors) errors.push(`ERROR  Failed during configuration: File contains parsing errors: ${file}\n\t[${e}]`);
    for (const [name, keys] of parsed.sections) merged.set(name, new Map([...(merged.get(name) ?? []), ...keys]));
  }
  const defaults = merged.get("DEFAULT") ?? new Map();
  const jails = [];
  for (const [name, keys] of merged) {
    if (name === "DEFAULT" || name === "INCLUDES") continue;
    const get = (key) => keys.get(key) ?? defaults.get(key);
    if ((get("enabled") ?? "false").toLowerCase() !== "true") continue;
    const filter = (get("filter") ?? name).replace(/\[.*$/, "").trim();
    const backend = get("backend") ?? "auto";
    const port = get("port") ?? "0:65535";
    if (readGuestFile(root, `/etc/fail2ban/filter.d/${filter}.conf`) === null) errors.push(`ERROR  Found no accessible config files for 'filter.d/${filter}' under /etc/fail2ban\nERROR  Unable to read the filter '${filter}'`);
    if (!BACKENDS.has(backend.replace(/\[.*$/, "")) && !/%\(\w+\)s/.test(backend)) errors.push(`ERROR  Unknown backend ${backend}. Must be among ${[...BACKENDS].join(", ")}`);
    for (const p of port.split(",").map((s) => s.trim())) {
      if (!/^\d{1,5}(:\d{1,5})?$/.test(p) && !PORT_NAMES.has(p) && !/%\(\w+\)s/.test(p)) errors.push(`ERROR  Invalid port ${p} in jail '${name}'`);
    }
    jails.push({ name, filter, port, backend, ignoreip: get("ignoreip") ?? "" });
  }
  return { jails, errors };
}
