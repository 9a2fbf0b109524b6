// LimaWAN test stand-in for macOS sudo(8) (sudo 1.9, Apple's /etc/sudoers), run by a setuid-root
// copy of node (the e2e harness makes it: test/e2e/harness.ts `sudoLauncher`), so what it runs
// really runs as root, as with sudo. It refuses what sudo refuses:
// - env_reset: the command gets the variables env_keep names (Apple's list below, plus the
//   sudoers' own), HOME and MAIL kept as Apple's sudoers keeps them, TERM, PATH (the caller's, or
//   secure_path when the sudoers sets one), USER/LOGNAME/SHELL of root, SUDO_USER/UID/GID/COMMAND;
// - `VAR=value` and -E only where the matched rule allows setting the environment (an `ALL`
//   rule, or one tagged SETENV): "sorry, you are not allowed to set the following environment
//   variables";
// - authentication: a NOPASSWD rule, or a cached credential (the user typed the password a
//   minute ago); otherwise `-n` gives "a password is required" and no terminal gives "a terminal
//   is required to read the password"; both exit 1 without running anything;
// - a command not in the rule: "Sorry, user U is not allowed to execute 'CMD' as root on HOST.";
// - with secure_path, the command is looked up there only ("command not found").
// The sudoers model is a JSON file whose path the launcher bakes in (root-owned, like
// /etc/sudoers): { rules: [{ uid | gid, commands: "ALL" | [Cmnd: "PATH" or "PATH ARGS"], nopasswd, setenv }],
// securePath, envKeep: [names], cachedCredential }. Calls are logged to `<sudoers>.calls`.
import { spawn } from "node:child_process";
import { accessSync, appendFileSync, chmodSync, constants, readFileSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/** Apple's /etc/sudoers `Defaults env_keep += …` lines (macOS 13–26). */
const APPLE_ENV_KEEP = [
  "BLOCKSIZE", "COLORFGBG", "COLORTERM", "__CF_USER_TEXT_ENCODING", "CHARSET", "LANG", "LANGUAGE", "LC_ALL", "LC_COLLATE", "LC_CTYPE",
  "LC_MESSAGES", "LC_MONETARY", "LC_NUMERIC", "LC_TIME", "LINES", "COLUMNS", "LSCOLORS", "SSH_AUTH_SOCK", "TZ", "DISPLAY",
  "XAUTHORIZATION", "XAUTHORITY", "EDITOR", "VISUAL", "HOME", "MAIL",
];

export async function main(sudoersFile, argv) {
  const sudoers = JSON.parse(readFileSync(sudoersFile, "utf8"));
  const caller = { uid: process.getuid(), gid: process.getgid(), name: userName(process.getuid()), groups: process.getgroups() };
  const log = (exitCode, note) => {
    try {
      appendFileSync(`${sudoersFile}.calls`, `${JSON.stringify({ argv, uid: caller.uid, exitCode, note, time: new Date().toISOString() })}\n`, { mode: 0o666 });
      chmodSync(`${sudoersFile}.calls`, 0o666);
    } catch {
      // the call still behaves as sudo would
    }
  };
  const fail = (message, code = 1) => {
    process.stderr.write(`${message}\n`);
    log(code, message);
    process.exit(code);
  };
  if (process.geteuid() !== 0) fail("sudo: effective uid is not 0, is sudo installed setuid root?");

  // Options first (getopt stops at the first non-option), then VAR=value, then the command.
  const flags = new Set();
  let i = 0;
  for (; i < argv.length && argv[i].startsWith("-"); i++) {
    if (argv[i] === "--") {
      i++;
      break;
    }
    if (argv[i] === "-n" || argv[i] === "--non-interactive") flags.add("n");
    else if (argv[i] === "-E" || argv[i] === "--preserve-env") flags.add("E");
    else if (argv[i] === "-k" || argv[i] === "--reset-timestamp") flags.add("k");
    else fail(`sudo: unsupported option in this stand-in: ${argv[i]}`);
  }
  const assignments = [];
  for (; i < argv.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(argv[i]); i++) assignments.push(argv[i]);
  const [command, ...args] = argv.slice(i);
  if (!command) fail("usage: sudo [-nEk] [VAR=value] [--] command [arg ...]");

  const searchPath = sudoers.securePath ?? process.env.PATH ?? "";
  const resolved = command.includes("/") ? path.resolve(command) : findOnPath(command, searchPath);
  if (!resolved || !isExecutable(resolved)) fail(`sudo: ${command}: command not found`);

  const rule = sudoers.rules.find((r) => appliesTo(r, caller) && (r.commands === "ALL" || r.commands.some((c) => commandMatches(c, resolved, args))));
  if (!rule) fail(`Sorry, user ${caller.name} is not allowed to execute '${[resolved, ...args].join(" ")}' as root on ${os.hostname().split(".")[0]}.`);
  const maySetEnv = rule.commands === "ALL" || rule.setenv === true;
  if ((assignments.length > 0 || flags.has("E")) && !maySetEnv) {
    fail(`sudo: sorry, you are not allowed to set the following environment variables: ${assignments.map((a) => a.split("=")[0]).join(" ") || "(-E)"}`);
  }
  if (!rule.nopasswd && !(sudoers.cachedCredential && !flags.has("k"))) {
    if (flags.has("n")) fail("sudo: a password is required");
    if (!process.stdin.isTTY) fail("sudo: a terminal is required to read the password; either use the -S option to read from standard input or configure an askpass helper\nsudo: a password is required");
    fail("sudo: this stand-in cannot read a password; give the rule NOPASSWD or a cached credential");
  }

  const env = {};
  const keep = [...APPLE_ENV_KEEP, ...(sudoers.envKeep ?? []), "TERM"];
  for (const name of keep) if (process.env[name] !== undefined) env[name] = process.env[name];
  if (flags.has("E")) Object.assign(env, process.env);
  Object.assign(env, {
    PATH: sudoers.securePath ?? process.env.PATH ?? "/usr/bin:/bin:/usr/sbin:/sbin",
    USER: "root",
    LOGNAME: "root",
    USERNAME: "root",
    SHELL: "/bin/sh",
    SUDO_USER: caller.name,
    SUDO_UID: String(caller.uid),
    SUDO_GID: String(caller.gid),
    SUDO_COMMAND: [resolved, ...args].join(" "),
  });
  for (const assignment of assignments) {
    const eq = assignment.indexOf("=");
    env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
  }

  process.setgroups([0]);
  process.setgid(0);
  process.setuid(0);
  const child = spawn(resolved, args, { env, stdio: "inherit" });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal)); // sudo relays signals
  child.once("error", (error) => fail(`sudo: unable to execute ${resolved}: ${error.message}`));
  child.once("close", (code, signal) => {
    const exitCode = code ?? 128 + (os.constants.signals[signal] ?? 1);
    log(exitCode);
    process.exit(exitCode);
  });
}

/**
 * sudoers(5) Cmnd matching: `PATH` allows any arguments; `PATH ARGS` only arguments that match
 * ARGS, matched as one string joined by spaces, where `*` matches any text (spaces too) and `?`
 * one character; `PATH ""` no arguments at all. Backslash escapes the next character.
 */
export function commandMatches(entry, resolved, args) {
  const space = entry.search(/(?<!\\) /);
  const command = (space < 0 ? entry : entry.slice(0, space)).replace(/\\(.)/g, "$1");
  if (command !== resolved) return false;
  if (space < 0) return true;
  const pattern = entry.slice(space + 1);
  if (pattern === '""') return args.length === 0;
  let regex = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\" && i + 1 < pattern.length) regex += pattern[++i].replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    else if (c === "*") regex += "[^]*";
    else if (c === "?") regex += "[^]";
    else regex += c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${regex}$`).test(args.join(" "));
}

/** A rule names the user (by uid, as /etc/passwd may call uid 65534 `nobody`) or a group by gid. */
function appliesTo(rule, caller) {
  if (rule.uid !== undefined) return rule.uid === caller.uid;
  if (rule.gid !== undefined) return caller.gid === rule.gid || caller.groups.includes(rule.gid);
  return false;
}

function userName(uid) {
  try {
    for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const fields = line.split(":");
      if (Number(fields[2]) === uid) return fields[0];
    }
  } catch {
    // no passwd file
  }
  return `#${uid}`;
}

function findOnPath(command, searchPath) {
  for (const dir of searchPath.split(":").filter(Boolean)) {
    const candidate = path.join(dir, command);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
