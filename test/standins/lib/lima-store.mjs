// Lima's instance store, as `pkg/store` reads it (LIMA-FACTS.md §2, §3, §5): instance
// directories under $LIMA_HOME, lima.yaml loaded with defaults and validated, status from PID
// files checked for liveness, networks with derived MAC addresses, and the JSON object
// `limactl list --json` prints for each instance.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { isMap, isScalar, parseDocument } from "yaml";
import { goQuoteRaw } from "./go-format.mjs";
import { log, standinFailure } from "./logrus.mjs";
import { proc } from "./proc.mjs";

/** The Lima version the stand-in claims (LIMACTL_STANDIN_VERSION). */
export const limaVersion = () => proc.env.LIMACTL_STANDIN_VERSION || "2.2.0";
const hostArch = () => proc.env.LIMACTL_STANDIN_HOST_ARCH || "aarch64";

/** $LIMA_HOME, symlinks resolved as Lima does. Never ~/.lima: a test must not touch the real one. */
export function limaHome() {
  const home = proc.env.LIMA_HOME;
  if (!home) standinFailure("limactl", "LIMA_HOME is not set; refusing to fall back to ~/.lima");
  const absolute = path.resolve(home);
  return existsSync(absolute) ? realpathSync(absolute) : absolute;
}

export function instanceDir(home, name) {
  return path.join(home, name);
}

/** `pkg/identifiers` plus the .yml/.yaml rule of dirnames.ValidateInstName. */
export function validateInstanceName(name) {
  if (name === "") return "identifier must not be empty";
  if (name.length > 76) return `instance name ${goQuoteRaw(name)} is not a valid identifier: identifier ${goQuoteRaw(name)} greater than maximum length (76 characters)`;
  if (!/^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$/.test(name)) {
    return `instance name ${goQuoteRaw(name)} is not a valid identifier: identifier ${goQuoteRaw(name)} must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$`;
  }
  if (/\.ya?ml$/i.test(name)) return `instance name ${goQuoteRaw(name)} must not end with .yml or .yaml suffix`;
  return null;
}

/** store.Instances(): directories, minus names starting with `_` or `.`, in os.ReadDir order. */
export function instanceNames(home) {
  let entries;
  try {
    entries = readdirSync(home, { withFileTypes: true });
  } catch (error) {
    if (error.code === "ENOENT") return [];
    throw error;
  }
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith("_") && !e.name.startsWith("."))
    .map((e) => e.name)
    .sort();
}

// ------------------------------------------------------------------------------------------
// networks.yaml

const DEFAULT_NETWORKS = {
  "user-v2": { mode: "user-v2", gateway: "192.168.104.1", netmask: "255.255.255.0" },
  shared: { mode: "shared", gateway: "192.168.105.1", dhcpEnd: "192.168.105.254", netmask: "255.255.255.0" },
  bridged: { mode: "bridged", interface: "en0" },
  host: { mode: "host", gateway: "192.168.106.1", dhcpEnd: "192.168.106.254", netmask: "255.255.255.0" },
};

/** $LIMA_HOME/_config/networks.yaml's `networks:`; Lima's template when the file is absent. */
export function networksConfig(home) {
  const file = path.join(home, "_config", "networks.yaml");
  if (!existsSync(file)) return DEFAULT_NETWORKS;
  const doc = parseDocument(readFileSync(file, "utf8"));
  const networks = doc.toJS()?.networks;
  return networks && typeof networks === "object" ? networks : {};
}

// ------------------------------------------------------------------------------------------
// lima.yaml

/** Top-level keys of limatype.LimaYAML, in struct order (the order of `config` in JSON). */
const LIMA_YAML_KEYS = [
  "base", "minimumLimaVersion", "vmType", "vmOpts", "os", "arch", "images", "cpuType", "cpus", "memory", "disk",
  "additionalDisks", "mounts", "mountTypesUnsupported", "mountType", "mountInotify", "ssh", "firmware", "audio",
  "video", "provision", "upgradePackages", "containerd", "guestInstallPrefix", "probes", "portForwards", "copyToHost",
  "message", "networks", "env", "param", "dns", "hostResolver", "propagateProxyEnv", "caCerts", "rosetta", "plain",
  "timezone", "nestedVirtualization", "user", "tpm", "osOpts",
];

/** What FillDefault gives an instance on macOS (abbreviated; shaped like fixtures/list-running.json). */
function defaults() {
  const user = proc.env.USER && proc.env.USER !== "root" ? proc.env.USER : "lima";
  return {
    vmType: "vz",
    vmOpts: { qemu: { cpuType: null, minimumVersion: null }, vz: { diskImageFormat: null, rosetta: { binfmt: null, enabled: null } } },
    os: "Linux",
    arch: hostArch(),
    cpus: 4,
    memory: "4GiB",
    disk: "100GiB",
    mountInotify: false,
    ssh: { localPort: 0, loadDotSSHPubKeys: false, forwardAgent: false, forwardX11: false, forwardX11Trusted: false },
    firmware: { legacyBIOS: false },
    audio: { device: "", interface: "" },
    video: { display: "none" },
    upgradePackages: false,
    containerd: { system: false, user: true },
    guestInstallPrefix: "/usr/local",
    hostResolver: { enabled: true, ipv6: false },
    propagateProxyEnv: true,
    caCerts: { removeDefaults: false },
    plain: false,
    timezone: proc.env.TZ || "UTC",
    nestedVirtualization: false,
    user: { name: user, comment: user, home: `/home/${user}.linux`, shell: "/bin/bash", uid: proc.euid() ?? 501 },
    tpm: false,
  };
}

const ARCHES = ["x86_64", "aarch64", "armv7l", "ppc64le", "riscv64", "s390x"];
const VM_TYPES = ["vz", "qemu"];

/** go-units RAMInBytes: binary multiples whatever the suffix says. */
export function ramInBytes(text) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b?)\s*$/i.exec(String(text));
  if (!m) return null;
  const power = { "": 0, k: 1, m: 2, g: 3, t: 4, p: 5 }[m[2].toLowerCase()];
  return Math.round(Number(m[1]) * 1024 ** power);
}

/** limayaml.MACAddress: "52:55:55:" + 3 bytes of sha256(machineID + uniqueID). */
export function derivedMac(uniqueId) {
  const sha = createHash("sha256").update((proc.env.LIMACTL_STANDIN_MACHINE_ID ?? "") + uniqueId).digest();
  return ["52", "55", "55", ...[...sha.subarray(0, 3)].map((b) => b.toString(16).padStart(2, "0"))].join(":");
}

function parseMac(text) {
  const octets = String(text).split(/[:-]/);
  if (octets.length < 1 || !octets.every((o) => /^[0-9a-fA-F]{2}$/.test(o))) return null;
  return octets.map((o) => o.toLowerCase());
}

/** The goccy strict decoder's complaint about the first unknown top-level key (text approximate, LIMA-FACTS §6). */
function unknownFieldError(doc, text) {
  if (!isMap(doc.contents)) return null;
  for (const pair of doc.contents.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : null;
    if (key === null || LIMA_YAML_KEYS.includes(key)) continue;
    const offset = pair.key.range?.[0] ?? 0;
    const before = text.slice(0, offset);
    const line = before.split("\n").length;
    const column = offset - before.lastIndexOf("\n");
    const source = text.split("\n")[line - 1] ?? "";
    return `[${line}:${column}] unknown field ${JSON.stringify(key)}\n>  ${line} | ${source}\n${" ".repeat(5 + String(line).length + column)}^\n`;
  }
  return null;
}

function mergeKnown(defaultValue, given) {
  if (given === undefined || given === null) return defaultValue;
  if (defaultValue && typeof defaultValue === "object" && !Array.isArray(defaultValue) && typeof given === "object" && !Array.isArray(given)) {
    const out = {};
    for (const key of Object.keys(defaultValue)) out[key] = mergeKnown(defaultValue[key], given[key]);
    return out;
  }
  return given;
}

/** The blocks of `text` under top-level keys Lima knows (a block runs to the next column-0 key). */
function knownKeysOnly(text) {
  const kept = [];
  let keep = true;
  let firstUnknown = null;
  for (const [i, line] of text.split("\n").entries()) {
    const key = /^([A-Za-z_][\w-]*):/.exec(line)?.[1];
    if (key !== undefined) {
      keep = LIMA_YAML_KEYS.includes(key);
      if (!keep && firstUnknown === null) firstUnknown = { key, line: i + 1 };
    }
    if (keep) kept.push(line);
  }
  return { text: kept.join("\n"), firstUnknown };
}

/** One YAML file of the load: its value, or the unmarshal error; plus goccy's strict-mode complaint. */
function readYamlFile(file, comment) {
  const text = readFileSync(file, "utf8");
  let doc;
  try {
    doc = parseDocument(text, { prettyErrors: false });
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    // Lima's yaml.v3 reads 10,000 levels of nesting; this library's recursive parser overflows
    // far sooner. Lima uses only its own keys: read those, as it would, and complain about the
    // first other key as its strict decoder does.
    const known = knownKeysOnly(text);
    doc = parseDocument(known.text, { prettyErrors: false });
    const value = doc.toJS() ?? {};
    return { value, warning: known.firstUnknown ? { comment, error: `[${known.firstUnknown.line}:1] unknown field ${JSON.stringify(known.firstUnknown.key)}\n` } : null };
  }
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const [line, col] = e.linePos?.[0] ? [e.linePos[0].line, e.linePos[0].col] : [0, 0];
    return { error: `failed to unmarshal YAML (${comment}): [${line}:${col}] ${e.message.split("\n")[0]}` };
  }
  const value = doc.toJS() ?? {};
  if (typeof value !== "object" || Array.isArray(value)) return { error: `failed to unmarshal YAML (${comment}): [1:1] string was used where mapping is expected` };
  const strict = unknownFieldError(doc, text);
  return { value, warning: strict ? { comment, error: strict } : null };
}

/**
 * limayaml.Load + Validate for $LIMA_HOME/NAME/lima.yaml, mixed with $LIMA_HOME/_config's
 * default.yaml (under it) and override.yaml (over it) as FillDefault does. Returns { config,
 * networks, errors, warnings } — errors make the instance unusable; warnings (Non-strict YAML)
 * are logged on every load.
 */
export function loadLimaYaml(home, file) {
  const errors = [];
  const warnings = [];
  const layers = {};
  for (const [layer, path_, comment] of [
    ["y", file, `main file ${goQuoteRaw(file)}`],
    ["d", path.join(home, "_config", "default.yaml"), `default file ${goQuoteRaw(path.join(home, "_config", "default.yaml"))}`],
    ["o", path.join(home, "_config", "override.yaml"), `override file ${goQuoteRaw(path.join(home, "_config", "override.yaml"))}`],
  ]) {
    if (layer !== "y" && !existsSync(path_)) {
      layers[layer] = {};
      continue;
    }
    const read = readYamlFile(path_, comment);
    if (read.error) return { config: null, networks: [], errors: [read.error], warnings };
    if (read.warning) warnings.push(read.warning);
    layers[layer] = read.value;
  }
  const { y, d, o } = layers;

  const builtin = defaults();
  const config = {};
  for (const key of LIMA_YAML_KEYS) {
    if (key === "networks") continue;
    let value;
    if (["images", "mounts", "provision", "probes", "portForwards", "copyToHost", "additionalDisks", "dns"].includes(key)) {
      // Lists: override's entries first, then the instance's, then default.yaml's.
      const lists = [o[key], y[key], d[key]].filter(Array.isArray);
      value = lists.length > 0 ? lists.flat() : undefined;
    } else {
      value = mergeKnown(mergeKnown(mergeKnown(builtin[key], d[key]), y[key]), o[key]);
    }
    if (value !== undefined) config[key] = value;
  }

  // limactl create and validate merge `base:` templates first; an instance's lima.yaml that still
  // names one fails validation (pkg/limayaml/validate.go), which lists it with no status.
  if (y.base !== undefined && y.base !== null && y.base !== "" && !(Array.isArray(y.base) && y.base.length === 0)) errors.push("field `base` must be empty for YAML validation");
  if (!Array.isArray(config.images) || config.images.length === 0) errors.push("field `images` must be set");
  if (!ARCHES.includes(config.arch)) errors.push(`field \`arch\` must be one of [${ARCHES.join(" ")}]; got ${goQuoteRaw(String(config.arch))}`);
  if (!VM_TYPES.includes(config.vmType)) errors.push(`failed to resolve vm for ${file}\nunsupported vmType ${goQuoteRaw(String(config.vmType))} (the stand-in knows ${VM_TYPES.join(", ")})`);
  if (!Number.isInteger(config.cpus) || config.cpus < 1) errors.push("field `cpus` must be set");
  for (const key of ["memory", "disk"]) {
    if (ramInBytes(config[key]) === null) errors.push(`field \`${key}\` has an invalid value: invalid size: ${goQuoteRaw(String(config[key]))}`);
  }

  // Networks of default.yaml, the instance and override.yaml; entries naming the same
  // `interface` are combined (FillDefault), the rest appended.
  const combined = [];
  const byInterface = new Map();
  for (const nw of [d.networks, y.networks, o.networks].filter(Array.isArray).flat()) {
    if (!nw || typeof nw !== "object") {
      combined.push({});
      continue;
    }
    if (nw.interface !== undefined && byInterface.has(nw.interface)) {
      const target = combined[byInterface.get(nw.interface)];
      if (nw.socket) Object.assign(target, { socket: nw.socket, lima: undefined });
      if (nw.lima) Object.assign(target, { lima: nw.lima, socket: undefined });
      for (const key of ["vzNAT", "macAddress", "metric"]) if (nw[key] !== undefined) target[key] = nw[key];
      continue;
    }
    if (nw.interface !== undefined) byInterface.set(nw.interface, combined.length);
    combined.push({ ...nw });
  }
  // FillDefault for networks, then validateNetwork (pkg/limayaml/validate.go).
  const known = networksConfig(home);
  const networks = [];
  const interfaces = new Map();
  combined.forEach((nw, i) => {
    const field = `networks[${i}]`;
    const entry = {};
    if (nw && typeof nw === "object") {
      for (const key of ["lima", "socket", "vzNAT", "macAddress", "interface", "metric"]) if (nw[key] !== undefined) entry[key] = nw[key];
    }
    if (entry.lima !== undefined) {
      if (!(entry.lima in known)) errors.push(`field \`${field}.lima\` references network ${goQuoteRaw(String(entry.lima))} which is not defined in networks.yaml`);
      if (entry.socket) errors.push(`field \`${field}.lima\` and field \`${field}.socket\` are mutually exclusive`);
      if (entry.vzNAT) errors.push(`field \`${field}.lima\` and field \`${field}.vzNAT\` are mutually exclusive`);
    } else if (entry.socket !== undefined) {
      if (entry.vzNAT) errors.push(`field \`${field}.socket\` and field \`${field}.vzNAT\` are mutually exclusive`);
    } else if (entry.vzNAT !== true) {
      errors.push(`field \`${field}.lima\` or  field \`${field}.socket must be set`);
    }
    if (entry.macAddress !== undefined) {
      const octets = parseMac(entry.macAddress);
      if (!octets) errors.push(`field \`vmnet.mac\` invalid: address ${entry.macAddress}: invalid MAC address`);
      else if (octets.length !== 6) errors.push(`field \`${field}.macAddress\` must be a 48 bit (6 bytes) MAC address; actual length of ${goQuoteRaw(String(entry.macAddress))} is ${octets.length} bytes`);
      else entry.macAddress = octets.join(":");
    } else {
      entry.macAddress = derivedMac(`${file}#${i}`);
    }
    entry.interface ??= `lima${i}`;
    entry.metric ??= 100;
    if (Buffer.byteLength(entry.interface) >= 16) errors.push(`field \`${field}.interface\` must be less than 16 bytes, but is ${Buffer.byteLength(entry.interface)} bytes: ${goQuoteRaw(entry.interface)}`);
    if (/[\s/]/.test(entry.interface)) errors.push(`field \`${field}.interface\` must not contain whitespace or slashes`);
    if (entry.interface === "eth0") errors.push(`field \`${field}.interface\` must not be set to \`eth0\` because it is reserved for slirp`);
    if (interfaces.has(entry.interface)) errors.push(`field \`${field}.interface\` value ${goQuoteRaw(entry.interface)} has already been used by field \`networks[${interfaces.get(entry.interface)}].interface\``);
    interfaces.set(entry.interface, i);
    const ordered = {};
    for (const key of ["lima", "socket", "vzNAT", "macAddress", "interface", "metric"]) if (entry[key] !== undefined) ordered[key] = entry[key];
    networks.push(ordered);
  });

  // Params fill the provision scripts that use them (pkg/limayaml: the scripts are templates).
  if (Array.isArray(config.provision) && config.param && typeof config.param === "object") {
    config.provision = config.provision.map((p) =>
      p && typeof p.script === "string" ? { ...p, script: p.script.replace(/\{\{\s*\.Param\.(\w+)\s*\}\}/g, (m, key) => (key in config.param ? String(config.param[key]) : m)) } : p,
    );
  }
  // `networks` sits between `message` and `env` in the struct.
  const ordered = {};
  for (const key of LIMA_YAML_KEYS) {
    if (key === "networks") {
      if (networks.length > 0) ordered.networks = networks;
    } else if (key in config) ordered[key] = config[key];
  }
  return { config: ordered, networks, errors, warnings };
}

// ------------------------------------------------------------------------------------------
// status

/**
 * store.ReadPIDFile: 0 when the file is absent or its process is gone (the stale file is
 * removed, as Lima does); the PID when kill(pid, 0) succeeds or is refused with EPERM.
 */
export function readPidFile(file) {
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if (error.code === "ENOENT") return { pid: 0 };
    return { pid: 0, error: error.message };
  }
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(pid) || String(pid) !== text.trim()) return { pid: 0, error: `strconv.Atoi: parsing ${JSON.stringify(text.trim())}: invalid syntax` };
  if (!isAlive(pid)) {
    rmSync(file, { force: true });
    return { pid: 0 };
  }
  return { pid };
}

export function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return error.code === "EPERM";
  }
  // A zombie still answers kill(pid, 0). macOS' launchd reaps orphans at once; a Linux container's
  // init may not, so count an unreaped process as gone, as it would be on the Mac.
  if (process.platform === "linux") {
    try {
      return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
    } catch (error) {
      return error.code !== "ENOENT"; // gone meanwhile; unreadable (hidepid) means alive
    }
  }
  return true;
}

/** Port from `Port N` in ssh.config (store.sshPortFromConfig). */
function sshPortFromConfig(file) {
  try {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const m = /^Port (\d+)$/.exec(line.trim());
      if (m) return Number(m[1]);
    }
  } catch {
    // absent: no port yet
  }
  return 0;
}

/**
 * store.Inspect (plus list's brokenInstance). Returns null when the instance does not exist.
 * `inst.loadWarnings` are the Non-strict YAML warnings Lima logs on every load (logLoadWarnings).
 */
export function inspect(home, name) {
  const dir = instanceDir(home, name);
  const yamlPath = path.join(dir, "lima.yaml");
  const inst = { name, hostname: "lima-" + name.replace(/[._]/g, "-"), status: "", dir, errors: [], networks: [] };
  if (!existsSync(yamlPath)) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) return null;
    // list.go brokenInstance: the directory exists, lima.yaml does not.
    return { name, hostname: "", status: "Broken", dir, errors: [`open ${yamlPath}: no such file or directory`], networks: [], brokenDir: true };
  }
  const loaded = loadLimaYaml(home, yamlPath);
  inst.loadWarnings = loaded.warnings;
  if (loaded.config === null || loaded.errors.length > 0) {
    inst.errors.push(...loaded.errors);
    inst.invalid = true;
    return inst;
  }
  const y = loaded.config;
  inst.config = y;
  inst.vmType = y.vmType;
  inst.arch = y.arch;
  inst.cpus = y.cpus;
  inst.memory = ramInBytes(y.memory);
  inst.disk = ramInBytes(y.disk);
  inst.networks = loaded.networks;
  inst.sshConfigFile = path.join(dir, "ssh.config");
  inst.sshLocalPort = y.ssh.localPort || sshPortFromConfig(inst.sshConfigFile);
  const ha = readPidFile(path.join(dir, "ha.pid"));
  const driver = readPidFile(path.join(dir, `${y.vmType}.pid`));
  inst.hostAgentPID = ha.pid;
  inst.driverPID = driver.pid;
  for (const e of [ha.error, driver.error]) if (e) inst.errors.push(e);
  if (ha.error || driver.error) inst.status = "Broken";
  else if (ha.pid > 0 && driver.pid > 0) inst.status = "Running";
  else if (ha.pid === 0 && driver.pid === 0) inst.status = "Stopped";
  else {
    inst.status = "Broken";
    inst.errors.push(ha.pid > 0 ? "host agent is running but driver is not" : `${y.vmType} driver is running but host agent is not`);
  }
  inst.protected = existsSync(path.join(dir, "protected"));
  try {
    inst.limaVersion = readFileSync(path.join(dir, "lima-version"), "utf8").trim();
  } catch {
    inst.limaVersion = "";
  }
  return inst;
}

export function logLoadWarnings(inst) {
  for (const fields of inst?.loadWarnings ?? []) log.warn("Non-strict YAML detected; please check for typos", fields);
}

/** One `limactl list --json` object: limatype.Instance in struct order, then FormatData's deprecated fields. */
export function instanceJson(home, inst) {
  const o = { name: inst.name, hostname: inst.hostname, status: inst.status, dir: inst.dir, vmType: inst.vmType ?? "", arch: inst.arch ?? "" };
  if (inst.cpus) o.cpus = inst.cpus;
  if (inst.memory) o.memory = inst.memory;
  if (inst.disk) o.disk = inst.disk;
  if (inst.config?.message) o.message = inst.config.message;
  if (inst.config?.additionalDisks?.length) o.additionalDisks = inst.config.additionalDisks;
  if (inst.networks.length > 0) o.network = inst.networks;
  if (inst.sshLocalPort) o.sshLocalPort = inst.sshLocalPort;
  if (inst.sshConfigFile) o.sshConfigFile = inst.sshConfigFile;
  if (inst.hostAgentPID) o.hostAgentPID = inst.hostAgentPID;
  if (inst.driverPID) o.driverPID = inst.driverPID;
  // Errors are encoded as {} and yq deletes empty objects, leaving an empty list (LIMA-FACTS §2);
  // but a directory without lima.yaml holds an *fs.PathError, whose exported fields survive.
  if (inst.brokenDir) o.errors = [{ Op: "open", Path: path.join(inst.dir, "lima.yaml"), Err: 2 }];
  else if (inst.errors.length > 0) o.errors = [];
  if (inst.config) o.config = inst.config;
  if (inst.config) o.sshAddress = "127.0.0.1";
  o.protected = Boolean(inst.protected);
  o.limaVersion = inst.limaVersion ?? "";
  if (inst.config?.param && Object.keys(inst.config.param).length > 0) o.param = inst.config.param;
  o.HostOS = "darwin";
  o.HostArch = hostArch();
  o.LimaHome = home;
  o.IdentityFile = path.join(home, "_config", "user");
  return o;
}
