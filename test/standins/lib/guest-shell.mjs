// What `limactl shell INST COMMAND…` runs inside the stand-in guest: a small, fixed command set,
// each answering in its real tool's format, run as the Lima user (`sudo` runs it as root:
// Lima's guests give that user passwordless sudo). Anything else exits 1 saying so.
//
//   ip -4 [-j] [-p] addr show [dev] IF      iproute2 (JSON as `ip -j` prints it)
//   ip -4 [-j] [-p] route show default      the default routes, lowest metric first
//   ss -H -l -t|-u -n (any grouping)        listening sockets, `ss` columns (Netid with -t -u)
//   id -un · getent passwd NAME · cat FILE… · test -e|-f|-d|-s|-x PATH
//   install [-D] [-m MODE] [-o root] [-g root] /dev/stdin DEST · mv [-f] SRC DST · rm [-f] [-r] PATH…
//   sshd -t | -T                            sshd's check / effective configuration (root)
//   systemctl is-active|reload|restart|try-reload-or-restart|reload-or-restart UNIT
//
// The guest's network facts come from standin-guest.json (guest.mjs) and the instance's
// networks; its files from standin-guest-fs/ (guest-fs.mjs). Tests steer both:
//   standin-guest.json `withoutIpv4`: interfaces DHCP left without an address (Lima issue 3100)
//   standin-guest.json `listening`: [{protocol, address, port}] replacing the derived sockets
//   standin-guest.json `flood`: {program, bytes, stream}: that program (`ip`, `ss`, `cat`…) prints
//     `bytes` of junk on stdout (or stream "stderr") instead of answering, as a broken or hostile
//     guest may; it stops when the reader goes (EPIPE), so hundreds of MB cost only what is read
// and read back `services` (each reload or restart, with the configuration it loaded).
import { readFileSync, renameSync, rmSync, mkdirSync, writeFileSync, writeSync, existsSync, statSync } from "node:fs";
import path from "node:path";
import { guestNetworks, readGuestState, writeGuestState } from "./guest.mjs";
import { guestFileKind, guestFsRoot, hostPath, readGuestFile } from "./guest-fs.mjs";
import { readFail2banJails, readSshdConfig, sshdEffective } from "./guest-sshd.mjs";
import { needsOwnProcess, proc } from "./proc.mjs";

/** Lima's user-mode network: eth0 is 192.168.5.15, its gateway 192.168.5.2 (LIMA-FACTS §5). */
const SLIRP = { address: "192.168.5.15", gateway: "192.168.5.2", metric: 200 };
/** Gateways of networks guest.mjs does not describe (bridged: the route stand-in's LAN). */
const BRIDGED_GATEWAY = "203.0.113.1";

/** Returns the exit code; writes the command's stdout and stderr. */
export function runGuestCommand({ home, inst, argv, stdin }) {
  const out = proc.out;
  const err = proc.err;
  const refuse = () => {
    err(`limactl shell (LimaWAN test stand-in): the stand-in guest cannot run \`${argv.join(" ")}\`; see test/standins/lib/guest-shell.mjs for what it answers\n`);
    return 1;
  };
  let words = [...argv];
  let asRoot = false;
  if (words[0] === "sudo") {
    words.shift();
    while (words[0]?.startsWith("-")) {
      const option = words.shift();
      if (option === "--") break;
      if (option !== "-n") return refuse();
    }
    asRoot = true;
  }
  const guest = { home, inst, asRoot, root: guestFsRoot(inst.dir), state: readGuestState(inst.dir) ?? {}, stdin, out, err, refuse };
  const program = words.shift() ?? "";
  const name = program.replace(/^\/(usr\/)?s?bin\//, "");
  if (guest.state.flood?.program === name) {
    needsOwnProcess("a flood is written straight to the descriptor");
    return flood(guest.state.flood);
  }
  switch (name) {
    case "ip":
      return ip(guest, words);
    case "ss":
      return ss(guest, words);
    case "id":
      if (words.join(" ") !== "-un") return refuse();
      out(`${asRoot ? "root" : inst.config.user.name}\n`);
      return 0;
    case "getent":
      return getent(guest, words);
    case "cat":
      return cat(guest, words);
    case "test":
      return test(guest, words);
    case "install":
      return install(guest, words);
    case "mv":
      return mv(guest, words);
    case "rm":
      return rm(guest, words);
    case "sshd":
      return sshd(guest, words);
    case "systemctl":
      return systemctl(guest, words);
    default:
      return refuse();
  }
}

/**
 * `bytes` of 1 KiB lines of junk on fd 1 (or 2), written straight to the descriptor: through
 * process.stdout they could queue in memory. The reader closing its end ends it (EPIPE; Node
 * ignores SIGPIPE), with the status of a command SIGPIPE killed.
 */
function flood({ bytes, stream }) {
  const fd = stream === "stderr" ? 2 : 1;
  const chunk = Buffer.from(`${"x".repeat(1023)}\n`.repeat(64));
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let left = bytes; left > 0; ) {
    try {
      left -= writeSync(fd, chunk, 0, Math.min(left, chunk.length));
    } catch (error) {
      if (error.code === "EPIPE") return 141;
      if (error.code !== "EAGAIN") throw error;
      Atomics.wait(pause, 0, 0, 5); // a non-blocking pipe that is full: wait for the reader
    }
  }
  return 0;
}

// ------------------------------------------------------------------------------------------
// network: ip, ss

/** lo, eth0 (user-mode), then lima0… per network; an interface in `withoutIpv4` has no address. */
function links(guest) {
  const { home, inst, state } = guest;
  const without = new Set(state.withoutIpv4 ?? []);
  return [
    { ifname: "lo", address: "127.0.0.1", prefixlen: 8, loopback: true },
    { ifname: "eth0", address: SLIRP.address, prefixlen: 24, metric: SLIRP.metric, gateway: SLIRP.gateway },
    ...guestNetworks(home, inst).map((nw) => ({
      ifname: nw.interface,
      address: without.has(nw.interface) ? null : (state.addresses?.[nw.interface] ?? null),
      prefixlen: 24,
      metric: nw.metric,
      gateway: nw.network?.gateway ?? (nw.kind === "bridged" ? BRIDGED_GATEWAY : null),
    })),
  ];
}

function ip(guest, words) {
  const options = { family4: false, json: false, pretty: false };
  while (words[0]?.startsWith("-")) {
    const option = words.shift();
    if (option === "-4") options.family4 = true;
    else if (option === "-j" || option === "-json") options.json = true;
    else if (option === "-p" || option === "-pretty") options.pretty = true;
    else return guest.refuse();
  }
  // IPv6 is not modelled: -4 is required.
  if (!options.family4) return guest.refuse();
  const object = words.shift() ?? "";
  if (["show", "list", "s", "ls"].includes(words[0] ?? "")) words.shift();
  const print = (value) => guest.out((options.pretty ? JSON.stringify(value, null, 4) : JSON.stringify(value)) + "\n");
  if (["a", "addr", "address"].includes(object)) {
    if (words[0] === "dev") words.shift();
    const device = words.shift();
    if (device === undefined || words.length > 0) return guest.refuse();
    return ipAddr(guest, device, options, print);
  }
  if (["r", "route", "ro"].includes(object)) {
    if (words.join(" ") !== "default") return guest.refuse();
    return ipRouteDefault(guest, options, print);
  }
  return guest.refuse();
}

function ipAddr(guest, device, options, print) {
  const all = links(guest);
  const index = all.findIndex((l) => l.ifname === device);
  if (index < 0) {
    guest.err(`Device "${device}" does not exist.\n`);
    return 1;
  }
  const link = all[index];
  const broadcast = link.address ? link.address.split(".").slice(0, 3).concat(["255"]).join(".") : null;
  if (options.json) {
    const out = [];
    if (link.address) {
      const flagsList = link.loopback ? ["LOOPBACK", "UP", "LOWER_UP"] : ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"];
      const info = link.loopback
        ? { family: "inet", local: link.address, prefixlen: link.prefixlen, scope: "host", label: "lo", valid_lft: 4294967295, preferred_lft: 4294967295 }
        : { family: "inet", local: link.address, prefixlen: link.prefixlen, metric: link.metric, broadcast, scope: "global", dynamic: true, label: link.ifname, valid_lft: 86391, preferred_lft: 86391 };
      out.push({ ifindex: index + 1, ifname: link.ifname, flags: flagsList, mtu: link.loopback ? 65536 : 1500, qdisc: link.loopback ? "noqueue" : "fq_codel", operstate: link.loopback ? "UNKNOWN" : "UP", group: "default", txqlen: 1000, addr_info: [info] });
    }
    print(out);
    return 0;
  }
  if (link.address) {
    guest.out(
      `${index + 1}: ${link.ifname}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000\n` +
        `    inet ${link.address}/${link.prefixlen} metric ${link.metric} brd ${broadcast} scope global dynamic ${link.ifname}\n` +
        `       valid_lft 86391sec preferred_lft 86391sec\n`,
    );
  }
  return 0;
}

/** Each addressed link with a gateway has a DHCP default route with its metric; the kernel lists the lowest first. */
function ipRouteDefault(guest, options, print) {
  const routes = links(guest)
    .filter((l) => l.address && l.gateway)
    .map((l) => ({ dst: "default", gateway: l.gateway, dev: l.ifname, protocol: "dhcp", prefsrc: l.address, metric: l.metric, flags: [] }))
    .sort((a, b) => a.metric - b.metric);
  if (options.json) print(routes);
  else for (const r of routes) guest.out(`default via ${r.gateway} dev ${r.dev} proto dhcp src ${r.prefsrc} metric ${r.metric} \n`);
  return 0;
}

/** systemd-resolved's stub listeners, always there on Ubuntu. */
const RESOLVED = [
  { protocol: "udp", address: "127.0.0.54", port: 53 },
  { protocol: "udp", address: "127.0.0.53%lo", port: 53 },
  { protocol: "tcp", address: "127.0.0.53%lo", port: 53 },
  { protocol: "tcp", address: "127.0.0.54", port: 53 },
];

/** The guest's listening sockets: `listening` when a test set it, else what its installed daemons open. */
export function listeningSockets(guest) {
  if (Array.isArray(guest.state.listening)) return guest.state.listening;
  const sockets = [...RESOLVED];
  const installed = (file) => guestFileKind(guest.root, file) !== null;
  if (installed("/usr/sbin/sshd")) sockets.push({ protocol: "tcp", address: "0.0.0.0", port: 22 }, { protocol: "tcp", address: "[::]", port: 22 });
  if (installed("/usr/sbin/nginx")) sockets.push({ protocol: "tcp", address: "0.0.0.0", port: 80 }, { protocol: "tcp", address: "[::]", port: 80 });
  return sockets;
}

function ss(guest, words) {
  const flags = new Set();
  for (const word of words) {
    if (!/^-[Hltun4]+$/.test(word)) return guest.refuse();
    for (const c of word.slice(1)) flags.add(c);
  }
  // Only listening sockets, numerically: what LimaWAN asks.
  if (!flags.has("l") || !flags.has("n") || (!flags.has("t") && !flags.has("u"))) return guest.refuse();
  const both = flags.has("t") && flags.has("u");
  const rows = listeningSockets(guest)
    .filter((s) => flags.has(s.protocol === "tcp" ? "t" : "u"))
    .filter((s) => !flags.has("4") || !s.address.startsWith("["))
    .sort((a, b) => (a.protocol === b.protocol ? 0 : a.protocol === "udp" ? -1 : 1));
  const lines = flags.has("H") ? [] : [`${both ? "Netid " : ""}State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess`];
  for (const s of rows) {
    const local = `${s.address}:${s.port}`;
    const peer = s.address.startsWith("[") ? "[::]:*" : s.address === "*" ? "*:*" : "0.0.0.0:*";
    const state = s.protocol === "tcp" ? "LISTEN" : "UNCONN";
    const queue = s.protocol === "tcp" ? (s.port === 80 ? "511" : "4096") : "0";
    lines.push(`${both ? s.protocol.padEnd(6) : ""}${state.padEnd(7)}0      ${queue.padEnd(7)}${local.padStart(18)}${peer.padStart(19)}          `);
  }
  guest.out(lines.map((l) => `${l}\n`).join(""));
  return 0;
}

// ------------------------------------------------------------------------------------------
// files

/** What only root may read: LimaWAN's backups, root's home, sshd's host keys. */
function rootOnly(file) {
  return /^\/(var\/lib\/limawan|root)(\/|$)/.test(file) || /^\/etc\/ssh\/ssh_host_/.test(file);
}

/** As the user, only their home is writable. */
function writable(guest, file) {
  return guest.asRoot || file.startsWith(`${guest.inst.config.user.home}/`);
}

function getent(guest, words) {
  if (words[0] !== "passwd" || words.length !== 2) return guest.refuse();
  const line = (readGuestFile(guest.root, "/etc/passwd") ?? "").split("\n").find((l) => l.split(":")[0] === words[1]);
  if (!line) return 2;
  guest.out(`${line}\n`);
  return 0;
}

function cat(guest, words) {
  if (words[0] === "--") words.shift();
  if (words.length === 0 || words.some((w) => w.startsWith("-"))) return guest.refuse();
  let code = 0;
  for (const file of words) {
    const kind = guestFileKind(guest.root, file);
    if (kind === null) {
      guest.err(`cat: ${file}: No such file or directory\n`);
      code = 1;
    } else if (!guest.asRoot && rootOnly(file)) {
      guest.err(`cat: ${file}: Permission denied\n`);
      code = 1;
    } else if (kind === "directory") {
      guest.err(`cat: ${file}: Is a directory\n`);
      code = 1;
    } else {
      guest.out(readGuestFile(guest.root, file));
    }
  }
  return code;
}

function test(guest, words) {
  if (words.length !== 2 || !/^-[efdsx]$/.test(words[0]) || !words[1].startsWith("/")) return guest.refuse();
  const kind = guestFileKind(guest.root, words[1]);
  switch (words[0]) {
    case "-e":
      return kind !== null ? 0 : 1;
    case "-d":
      return kind === "directory" ? 0 : 1;
    case "-f":
      return kind !== null && typeof kind === "object" ? 0 : 1;
    case "-s":
      return kind !== null && typeof kind === "object" && kind.size > 0 ? 0 : 1;
    default:
      // Installed programs are marker files: present means executable.
      return kind !== null && typeof kind === "object" ? 0 : 1;
  }
}

function install(guest, words) {
  let parents = false;
  let mode = 0o755;
  const rest = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === "-D") parents = true;
    else if (w === "-m") mode = Number.parseInt(words[++i] ?? "", 8);
    else if (w === "-o" || w === "-g") {
      if (words[++i] !== "root") return guest.refuse();
    } else if (w.startsWith("-")) return guest.refuse();
    else rest.push(w);
  }
  if (rest.length !== 2 || rest[0] !== "/dev/stdin" || !Number.isInteger(mode)) return guest.refuse();
  const target = rest[1];
  const file = hostPath(guest.root, target);
  if (!file) return guest.refuse();
  if (!writable(guest, target)) {
    guest.err(`install: cannot create regular file '${target}': Permission denied\n`);
    return 1;
  }
  if (parents) mkdirSync(path.dirname(file), { recursive: true });
  else if (!existsSync(path.dirname(file))) {
    guest.err(`install: cannot create regular file '${target}': No such file or directory\n`);
    return 1;
  }
  writeFileSync(file, guest.stdin(), { mode });
  return 0;
}

function mv(guest, words) {
  const paths = words.filter((w) => w !== "-f" && w !== "-T");
  if (paths.length !== 2 || paths.some((p) => p.startsWith("-"))) return guest.refuse();
  const [from, to] = paths.map((p) => hostPath(guest.root, p));
  if (!from || !to) return guest.refuse();
  if (!writable(guest, paths[0]) || !writable(guest, paths[1])) {
    guest.err(`mv: cannot move '${paths[0]}' to '${paths[1]}': Permission denied\n`);
    return 1;
  }
  if (!existsSync(from)) {
    guest.err(`mv: cannot stat '${paths[0]}': No such file or directory\n`);
    return 1;
  }
  renameSync(from, to);
  return 0;
}

function rm(guest, words) {
  let force = false;
  let recursive = false;
  const targets = [];
  for (const w of words) {
    if (/^-[rf]+$/.test(w)) {
      force ||= w.includes("f");
      recursive ||= w.includes("r");
    } else if (w.startsWith("-")) return guest.refuse();
    else targets.push(w);
  }
  let code = 0;
  for (const target of targets) {
    const file = hostPath(guest.root, target);
    if (!file || file === guest.root) return guest.refuse();
    if (!writable(guest, target)) {
      guest.err(`rm: cannot remove '${target}': Permission denied\n`);
      code = 1;
      continue;
    }
    if (!existsSync(file)) {
      if (!force) {
        guest.err(`rm: cannot remove '${target}': No such file or directory\n`);
        code = 1;
      }
      continue;
    }
    if (statSync(file).isDirectory() && !recursive) {
      guest.err(`rm: cannot remove '${target}': Is a directory\n`);
      code = 1;
      continue;
    }
    rmSync(file, { recursive: true, force: true });
  }
  return code;
}

// ------------------------------------------------------------------------------------------
// sshd, systemctl

function sshd(guest, words) {
  if (words.length !== 1 || !["-t", "-T"].includes(words[0])) return guest.refuse();
  if (guestFileKind(guest.root, "/usr/sbin/sshd") === null) {
    guest.err("bash: line 1: sshd: command not found\n");
    return 127;
  }
  if (!guest.asRoot) {
    guest.err("sshd: no hostkeys available -- exiting.\n");
    return 1;
  }
  const { values, errors } = readSshdConfig(guest.root);
  if (errors.length > 0) {
    guest.err(errors.map((e) => `${e}\n`).join(""));
    return 255;
  }
  if (words[0] === "-T") guest.out(sshdEffective(values).map((l) => `${l}\n`).join(""));
  return 0;
}

const UNIT_ALIASES = { sshd: "ssh" };

function systemctl(guest, words) {
  if (words.length !== 2) return guest.refuse();
  const [verb, given] = words;
  const unit = given.replace(/\.service$/, "");
  const name = UNIT_ALIASES[unit] && guestFileKind(guest.root, `/usr/lib/systemd/system/${unit}.service`) === null ? UNIT_ALIASES[unit] : unit;
  if (!["is-active", "reload", "restart", "try-reload-or-restart", "reload-or-restart"].includes(verb)) return guest.refuse();
  const known = guestFileKind(guest.root, `/usr/lib/systemd/system/${name}.service`) !== null;
  const services = { ...(guest.state.services ?? {}) };
  const service = services[name] ?? { active: known, reloads: 0, restarts: 0 };
  if (verb === "is-active") {
    guest.out(`${known && service.active ? "active" : "inactive"}\n`);
    return known && service.active ? 0 : 3;
  }
  if (!guest.asRoot) {
    guest.err(`Failed to ${verb} ${name}.service: Interactive authentication required.\nSee system logs and 'systemctl status ${name}.service' for details.\n`);
    return 1;
  }
  if (!known) {
    guest.err(`Failed to ${verb} ${given}${given.endsWith(".service") ? "" : ".service"}: Unit ${given}${given.endsWith(".service") ? "" : ".service"} not found.\n`);
    return 5;
  }
  // try-reload-or-restart leaves a stopped service stopped.
  if (verb === "try-reload-or-restart" && !service.active) return 0;
  const loaded = loadService(guest, name);
  if (loaded.errors.length > 0) {
    guest.err(`Job for ${name}.service failed because the control process exited with error code.\nSee "systemctl status ${name}.service" and "journalctl -xeu ${name}.service" for details.\n`);
    services[name] = { ...service, active: verb === "reload" || verb === "try-reload-or-restart" ? service.active : false, failed: loaded.errors };
    writeGuestState(guest.inst.dir, { ...guest.state, services });
    return 1;
  }
  const reloading = verb === "reload" || (verb.includes("reload") && service.active);
  services[name] = {
    active: true,
    reloads: service.reloads + (reloading ? 1 : 0),
    restarts: service.restarts + (reloading ? 0 : 1),
    ...loaded.record,
  };
  writeGuestState(guest.inst.dir, { ...guest.state, services });
  return 0;
}

/** What a service reads when it (re)starts: sshd its configuration, fail2ban its jails. */
function loadService(guest, name) {
  if (name === "ssh") {
    const { values, errors } = readSshdConfig(guest.root);
    return { errors, record: { config: Object.fromEntries(sshdEffective(values).map((l) => [l.slice(0, l.indexOf(" ")), l.slice(l.indexOf(" ") + 1)])) } };
  }
  if (name === "fail2ban") {
    const { jails, errors } = readFail2banJails(guest.root);
    return { errors, record: { jails } };
  }
  return { errors: [], record: {} };
}
