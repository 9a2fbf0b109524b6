// `limactl` stand-in: Lima 2.2's CLI over a real $LIMA_HOME layout (LIMA-FACTS.md). Commands:
// --version, list, create, delete, start, stop, shell (the guest's few commands: guest-shell.mjs),
// validate, watch, and `limactl NAME` → the `limactl-NAME` plugin, as Lima ≥ 2.0 runs plugins.
// It writes only under $LIMA_HOME and to $LIMAWAN_DHCPD_LEASES.
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isMap, parseDocument, stringify as yamlStringify } from "yaml";
import { parseFlags, UsageError } from "./cli-flags.mjs";
import { goQuoteRaw } from "./go-format.mjs";
import { readGuestState } from "./guest.mjs";
import { runGuestCommand } from "./guest-shell.mjs";
import { log, standinFailure, useJsonFormat } from "./logrus.mjs";
import { inspect, instanceDir, instanceJson, instanceNames, limaHome, limaVersion, loadLimaYaml, logLoadWarnings, validateInstanceName } from "./lima-store.mjs";
import { start, stop, stopForcibly } from "./limactl-lifecycle.mjs";
import { watchCommand } from "./limactl-watch.mjs";
import { runCall } from "./call.mjs";
import { asServedCall, isRoot, needsOwnProcess, NotServed, proc } from "./proc.mjs";

const BIN_DIR = fileURLToPath(new URL("../bin/", import.meta.url));
/** Lima ≥ 2.1 refuses root in main(), before any flag (even --version); 2.0 did it in PersistentPreRunE. */
function rootCheckInMain() {
  // A build from source without a version says `<unknown>`: it is today's Lima.
  const version = limaVersion();
  const [major, minor] = /^\d+\.\d+/.test(version) ? version.split(".").map(Number) : [Infinity, 0];
  return major > 2 || (major === 2 && minor >= 1);
}
/** `limactl watch` arrived in 2.1 too. */
const hasWatch = rootCheckInMain;

/**
 * One limactl call in the stand-in server's process (server.mjs): the commands that answer at
 * once. start, stop, watch, a plugin and a guest's flood need a process of their own: NotServed
 * (the caller's lib/served.bash then runs bin/limactl by node), before anything is changed.
 */
export function servedMain(call) {
  const cwd = process.cwd();
  const umask = process.umask(call.umask);
  try {
    process.chdir(call.cwd);
  } catch {
    process.umask(umask);
    throw new NotServed(`cannot enter ${call.cwd}`);
  }
  try {
    return asServedCall(call, () => runCall(call, () => main(call.argv) ?? 0));
  } finally {
    process.chdir(cwd);
    process.umask(umask);
  }
}

/** Returns a promise for the commands that wait (start, stop, watch), else nothing. */
export function main(argv) {
  if (rootCheckInMain() && isRoot() && argv[0] !== "generate-doc") {
    proc.err("limactl: must not run as the root user\n");
    proc.exit(1);
  }
  // Global flags may precede the command; --version / --help are cobra's own.
  let i = 0;
  const globals = [];
  for (; i < argv.length && argv[i].startsWith("-"); i++) {
    const arg = argv[i];
    if (arg === "--version" || arg === "-v") {
      proc.out(`limactl version ${limaVersion()}\n`);
      proc.exit(0);
    }
    if (arg === "--help" || arg === "-h") return help();
    globals.push(arg);
    if (/^--(log-level|log-format)$/.test(arg)) globals.push(argv[++i]);
  }
  const command = argv[i];
  const rest = [...globals, ...argv.slice(i + 1)];
  if (command === undefined) return help();
  const logFormat = rest.findIndex((a) => a === "--log-format" || a.startsWith("--log-format="));
  if (logFormat >= 0) useJsonFormat((rest[logFormat].split("=")[1] ?? rest[logFormat + 1]) === "json");
  if (!rootCheckInMain() && isRoot()) log.fatal("must not run as the root user");

  try {
    switch (command) {
      case "list":
      case "ls":
        return list(rest);
      case "create":
        return create(rest);
      case "delete":
      case "remove":
      case "rm":
        return remove(rest);
      case "start":
        needsOwnProcess("start waits for the host agent");
        return usageFatal(start(rest));
      case "stop":
        needsOwnProcess("stop waits for the host agent");
        return usageFatal(stop(rest));
      case "shell":
        return shell(rest);
      case "validate":
        return validate(rest);
      case "watch":
        if (hasWatch()) {
          needsOwnProcess("watch runs until stopped");
          return usageFatal(watchCommand(rest));
        }
        break;
      default:
        break;
    }
  } catch (error) {
    if (error instanceof UsageError) log.fatal(error.message);
    throw error;
  }
  return plugin(command, argv.slice(i + 1));
}

/** A usage error of a command that waits: fatal, as main's own. */
async function usageFatal(running) {
  try {
    return await running;
  } catch (error) {
    if (error instanceof UsageError) log.fatal(error.message);
    throw error;
  }
}

function help() {
  proc.out(
    "Lima: Linux virtual machines (LimaWAN test stand-in)\n\nUsage:\n  limactl [command]\n\nStand-in commands: create delete list shell start stop watch\n",
  );
  proc.exit(0);
}

/** Lima ≥ 2.0 runs `limactl-NAME` from its own directory, then PATH (LIMA-FACTS §1). */
function plugin(name, args) {
  // Looked up on the caller's PATH in the caller's namespace, run on its descriptors: its own process.
  needsOwnProcess("a plugin runs on limactl's descriptors");
  const candidates = [BIN_DIR, ...(proc.env.PATH ?? "").split(path.delimiter).filter(Boolean)].map((d) => path.join(d, `limactl-${name}`));
  const found = candidates.find((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (!found) log.fatal(`unknown command ${JSON.stringify(name)} for "limactl"`);
  const env = { ...proc.env, PATH: [BIN_DIR.replace(/\/$/, ""), proc.env.PATH].filter(Boolean).join(path.delimiter) };
  const result = spawnSync(found, args, { stdio: "inherit", env });
  proc.exit(result.status ?? 255);
}

// ------------------------------------------------------------------------------------------
// list

const FIELD_NAMES = {
  Name: "name", Hostname: "hostname", Status: "status", Dir: "dir", VMType: "vmType", Arch: "arch", CPUs: "cpus",
  Memory: "memory", Disk: "disk", Message: "message", Networks: "network", SSHLocalPort: "sshLocalPort",
  SSHConfigFile: "sshConfigFile", HostAgentPID: "hostAgentPID", DriverPID: "driverPID", SSHAddress: "sshAddress",
  Protected: "protected", LimaVersion: "limaVersion", HostOS: "HostOS", HostArch: "HostArch", LimaHome: "LimaHome",
  IdentityFile: "IdentityFile",
};

function list(args) {
  const { flags, positional } = parseFlags(args, {
    json: { type: "bool" },
    format: { type: "string", short: "f" },
    quiet: { type: "bool", short: "q" },
    "list-fields": { type: "bool" },
    "all-fields": { type: "bool" },
    yq: { type: "strings" },
    filter: { type: "strings", short: "l" },
  });
  if (flags.yq || flags.filter) standinFailure("limactl", "list --yq/--filter are not implemented by the stand-in");
  if (flags.json && flags.format !== undefined) log.fatal("option --json conflicts with option --format");
  const format = flags.json ? "json" : (flags.format ?? "table");
  if (flags.quiet && format !== "table") log.fatal("option --quiet can only be used with '--format table'");
  if (flags["list-fields"]) {
    proc.out(Object.keys(FIELD_NAMES).filter((f) => !/^(HostOS|HostArch|LimaHome|IdentityFile)$/.test(f)).sort().join("\n") + "\n");
    return;
  }

  const home = limaHome();
  const all = instanceNames(home);
  const invalid = all.find((n) => !existsSync(path.join(home, n, "lima.yaml")));
  if (invalid) log.warn(`The directory ${goQuoteRaw(home)} does not look like a valid Lima directory: stat ${path.join(home, invalid, "lima.yaml")}: no such file or directory`);
  if (positional.length === 0 && all.length === 0) {
    log.warn("No instance found. Run `limactl create` to create an instance.");
    return;
  }
  let unmatched = false;
  const names = [];
  if (positional.length === 0) names.push(...all);
  for (const arg of positional) {
    if (all.includes(arg)) names.push(arg);
    else {
      log.warn(`No instance matching ${arg} found.`);
      unmatched = true;
    }
  }
  if (flags.quiet) {
    for (const name of names) proc.out(name + "\n");
    if (unmatched) log.fatal("unmatched instances");
    return;
  }

  const instances = [];
  for (const name of names) {
    const inst = inspect(home, name);
    if (!inst) {
      log.warn(`Skipping instance ${goQuoteRaw(name)}: open ${path.join(home, name, "lima.yaml")}: no such file or directory (being cloned or deleted?)`);
      if (positional.length > 0) unmatched = true;
      continue;
    }
    logLoadWarnings(inst);
    instances.push(inst);
  }
  for (const inst of instances) {
    if (inst.errors.length > 0) log.warn(`instance ${goQuoteRaw(inst.name)} has errors`, { errors: `[${inst.errors.join(" ")}]` });
  }

  const objects = instances.map((inst) => instanceJson(home, inst));
  const tty = proc.stdoutIsTTY() || Boolean(proc.env._LIMA_OUTPUT_IS_TTY);
  if (format === "json") {
    for (const o of objects) proc.out((tty ? JSON.stringify(o, null, 4) : JSON.stringify(o)) + "\n");
  } else if (format === "yaml") {
    proc.out(objects.map((o) => yamlStringify(o)).join("---\n"));
  } else if (format === "table") {
    printTable(objects);
  } else if (format.includes("{{")) {
    for (const o of objects) {
      proc.out(
        format.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (_m, field) => {
          const key = FIELD_NAMES[field];
          if (!key) log.fatal(`template: format:1: can't evaluate field ${field} in type store.FormatData`);
          const value = o[key];
          return value === undefined ? (/PID|Port|CPUs|Memory|Disk/.test(field) ? "0" : "") : typeof value === "object" ? JSON.stringify(value) : String(value);
        }) + "\n",
      );
    }
  } else {
    log.fatal(`unsupported format ${JSON.stringify(format)}`);
  }
  if (unmatched) log.fatal("unmatched instances");
}

function bytesSize(n) {
  if (!n) return "0B";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${Number(n.toFixed(2))}${units[i]}`;
}

function printTable(objects) {
  const rows = [["NAME", "STATUS", "SSH", "VMTYPE", "ARCH", "CPUS", "MEMORY", "DISK", "DIR"]];
  for (const o of objects) {
    rows.push([o.name, o.status, o.sshLocalPort ? `127.0.0.1:${o.sshLocalPort}` : "127.0.0.1:0", o.vmType, o.arch, String(o.cpus ?? 0), bytesSize(o.memory), bytesSize(o.disk), o.dir.replace(proc.env.HOME ?? "\0", "~")]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const row of rows) proc.out(row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c] + 4))).join("") + "\n");
}

// ------------------------------------------------------------------------------------------
// create / delete

/** Names of stdin a file argument may use: in the server they would be the server's own. */
const STDIN_FILES = new Set(["/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"]);

function create(args) {
  const { flags, positional } = parseFlags(args, { name: { type: "string" } });
  if (positional.length === 0) standinFailure("limactl", "create needs a lima.yaml FILE (the stand-in has no templates)");
  if (positional.length > 1) log.fatal(`"limactl create" accepts at most 1 arg(s), received ${positional.length}`);
  const source = positional[0];
  // The directory without lima.yaml for that long: other calls must go on meanwhile.
  if (Number(proc.env.LIMACTL_STANDIN_CREATE_PAUSE_MS || 0) > 0) needsOwnProcess("create pauses");
  if (STDIN_FILES.has(source)) needsOwnProcess("the file is stdin");
  if (/^[a-z]+:/.test(source) && !source.startsWith("/")) standinFailure("limactl", `create: template locators like ${source} are not supported; pass a file`);
  const given = source === "-" ? proc.stdin() : readFileSync(source, "utf8");
  const text = withoutBase(given);
  const name = flags.name ?? (source === "-" ? "" : path.basename(source).replace(/\.ya?ml$/i, ""));
  const invalidName = validateInstanceName(name);
  if (invalidName) log.fatal(invalidName);
  const home = limaHome();
  const dir = instanceDir(home, name);
  if (existsSync(dir)) log.fatal(`instance ${goQuoteRaw(name)} already exists (${goQuoteRaw(dir)})`);

  // Checked first under a dot-name (which Lima skips); then made as Lima makes it: the directory,
  // then lima.yaml in it (a `list` in between sees it Broken; `watch` may miss it, LIMA-FACTS.md
  // §4). LIMACTL_STANDIN_CREATE_PAUSE_MS holds the directory without lima.yaml that long.
  mkdirSync(home, { recursive: true });
  const building = path.join(home, `.standin-create-${name}-${proc.pid}`);
  mkdirSync(building);
  let loaded;
  try {
    writeFileSync(path.join(building, "lima.yaml"), text);
    loaded = loadLimaYaml(home, path.join(building, "lima.yaml"));
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
  for (const { comment, error } of loaded.warnings) log.warn("Non-strict YAML detected; please check for typos", { comment: comment.replace(building, dir), error });
  if (loaded.errors.length > 0) log.fatal(`the YAML is invalid: ${loaded.errors.join("\n")}`);
  mkdirSync(dir);
  const pause = Number(proc.env.LIMACTL_STANDIN_CREATE_PAUSE_MS || 0);
  if (pause > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, pause);
  writeFileSync(path.join(dir, "lima.yaml"), text);
  // version.Version as built: a tagged git build's `v2.2.0` (`--version` drops the v).
  writeFileSync(path.join(dir, "lima-version"), /^\d/.test(limaVersion()) ? `v${limaVersion()}` : limaVersion());
  log.info(`Run \`limactl start ${name}\` to start the instance.`);
}

/** `limactl validate FILE…`: each file loaded and validated as an instance's would be. */
function validate(args) {
  const { flags, positional } = parseFlags(args, { fill: { type: "bool" } });
  if (flags.fill) standinFailure("limactl", "validate --fill is not implemented by the stand-in");
  if (positional.length === 0) log.fatal(`"limactl validate" requires at least 1 arg(s), only received 0`);
  const home = limaHome();
  if (positional.some((file) => STDIN_FILES.has(file))) needsOwnProcess("a file is stdin");
  for (const file of positional) {
    const text = readFileSync(file, "utf8");
    // Lima merges `base:` templates before validating; the stand-in has none to merge.
    if (/^base\s*:/m.test(text)) standinFailure("limactl", "validate: files with `base:` templates are not supported");
    const loaded = loadLimaYaml(home, path.resolve(file));
    // Lima reads the file twice (the template, then the instance it would make): two warnings.
    for (let i = 0; i < 2; i++) for (const { error } of loaded.warnings) log.warn("Non-strict YAML detected; please check for typos", { comment: file, error });
    const [first] = loaded.errors;
    if (first?.startsWith("failed to unmarshal YAML")) log.fatal(first.replace(/\(main file `([^`]*)`\)/, "($1)"));
    if (loaded.errors.length > 0) log.fatal(`failed to validate YAML file ${goQuoteRaw(file)}: ${loaded.errors.join("\n")}`);
    log.info(`${goQuoteRaw(file)}: OK`);
  }
}

/**
 * Lima merges a template's `base:` into it at create (pkg/limatmpl/embed.go) and writes the
 * result through yq and yamlfmt: the key goes, lists lose their indentation. The stand-in has no
 * templates to merge: it drops the key and writes the rest as yamlfmt would.
 */
function withoutBase(text) {
  const doc = parseDocument(text);
  if (!isMap(doc.contents) || !doc.has("base")) return text;
  doc.delete("base");
  return doc.toString({ indentSeq: false, lineWidth: 0 });
}

function remove(args) {
  const { flags, positional } = parseFlags(args, { force: { type: "bool", short: "f" } });
  if (positional.length === 0) log.fatal(`"limactl delete" requires at least 1 arg(s), only received 0`);
  const home = limaHome();
  for (const name of positional) {
    const inst = inspect(home, name);
    if (!inst || inst.brokenDir) {
      if (!existsSync(instanceDir(home, name))) log.warn(`Ignoring non-existent instance ${goQuoteRaw(name)}`);
      else log.fatal(`instance ${goQuoteRaw(name)} directory ${goQuoteRaw(instanceDir(home, name))} exists but its \`lima.yaml\` could not be read; it was NOT deleted, in case it is currently being cloned into. If no \`limactl\` operation is using it, remove it manually`);
      continue;
    }
    if (inst.protected) log.fatal(`failed to delete instance ${goQuoteRaw(name)}: instance is protected to prohibit accidental removal (Hint: use \`limactl unprotect\`)`);
    if (!flags.force && inst.status !== "Stopped") log.fatal(`failed to delete instance ${goQuoteRaw(name)}: expected status \`Stopped\`, got ${goQuoteRaw(inst.status)}`);
    stopForcibly(inst);
    rmSync(inst.dir, { recursive: true, force: true });
    log.info(`Deleted ${goQuoteRaw(name)} (${goQuoteRaw(inst.dir)})`);
  }
}

// ------------------------------------------------------------------------------------------
// shell: the guest runs the small command set of guest-shell.mjs, as the Lima user.

function shell(args) {
  const { flags, positional } = parseFlags(
    args,
    { shell: { type: "string" }, workdir: { type: "string" }, reconnect: { type: "bool" }, "preserve-env": { type: "bool" }, start: { type: "bool" } },
    { interspersed: false },
  );
  if (positional.length === 0) log.fatal(`"limactl shell" requires at least 1 arg(s), only received 0`);
  let [name, ...command] = positional;
  if (command[0] === "--") command = command.slice(1);
  const home = limaHome();
  const inst = inspect(home, name);
  if (!inst || inst.brokenDir) log.fatal(`instance ${goQuoteRaw(name)} does not exist, run \`limactl create ${name}\` to create a new instance`);
  logLoadWarnings(inst);
  if (inst.errors.length > 0 && inst.invalid) {
    log.error(`Instance ${goQuoteRaw(name)} has configuration errors`, { error: inst.errors.join("\n") });
    log.fatal(`instance ${goQuoteRaw(name)} has no configuration`);
  }
  if (inst.status === "Stopped") {
    if (flags.start) standinFailure("limactl", "shell --start is not supported; run `limactl start` first");
    log.fatal(`instance ${goQuoteRaw(name)} is stopped, run \`limactl start ${name}\` to start the instance`);
  }
  const guest = readGuestState(inst.dir);
  if (inst.status !== "Running" || !guest?.booted) {
    // SSH is not up yet (booting) or the VM is half there (Broken): ssh's own failure.
    proc.err(`ssh: connect to host 127.0.0.1 port ${inst.sshLocalPort || 22}: Connection refused\n`);
    proc.exit(255);
  }
  if (flags.workdir !== undefined && !flags.workdir.startsWith("/") && flags.workdir !== "~") {
    proc.err(`bash: line 1: cd: ${flags.workdir}: No such file or directory\n`);
    proc.exit(1);
  }
  if (command.length === 0) standinFailure("limactl", "shell: an interactive guest shell is not available in the stand-in");
  proc.exit(runGuestCommand({ home, inst, argv: command, stdin: proc.stdin }));
}
