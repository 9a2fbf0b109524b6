// The stand-in for `limactl hostagent`: a detached, long-lived process per running instance.
// Like Lima's (LIMA-FACTS.md §3, §4) it writes ha.pid, serves ha.sock, acts as the vz driver
// (vz.pid holds its own PID), emits host-agent events as JSON Lines on its stdout (which is
// ha.stdout.log) and logrus JSON on its stderr (ha.stderr.log). Its guest "boots" by leasing an
// address from bootpd's lease file. SIGINT/SIGTERM: the deferred `exiting` event, ha.pid and
// ha.sock removed, vz.pid left stale. SIGKILL: nothing at all, as with the real one.
//
// Usage (by bin/limactl start only): node hostagent.mjs --pidfile DIR/ha.pid --socket DIR/ha.sock NAME
// Tunables: LIMACTL_STANDIN_BOOT_MS (booting → running, default 20), LIMACTL_STANDIN_LEASE_DELAY_MS
// (booting → lease written, default 0: before `running`), LIMACTL_STANDIN_DEGRADED=1 (a degraded
// `running` event), LIMACTL_STANDIN_HOSTAGENT_TTL_MS (self-stop, default 15 min).
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { rfc3339Nano } from "./go-format.mjs";
import { acquireAddresses, GUEST_STATE, readGuestState, writeGuestState } from "./guest.mjs";
import { seedGuestFs } from "./guest-fs.mjs";
import { inspect, limaHome } from "./lima-store.mjs";

const name = process.argv.at(-1);
const home = limaHome();
const inst = inspect(home, name);
if (!inst?.config) {
  process.stderr.write(JSON.stringify({ level: "fatal", msg: `cannot load instance ${name}`, time: rfc3339Nano() }) + "\n");
  process.exit(1);
}
const dir = inst.dir;
const file = (f) => path.join(dir, f);
const number = (value, fallback) => (value !== undefined && value !== "" && Number.isFinite(Number(value)) ? Number(value) : fallback);

const status = {};
function emit(fields) {
  // Lima copies the current status into every event (emitPortForwardEvent copies currentStatus).
  Object.assign(status, fields);
  const ordered = {};
  for (const key of ["running", "degraded", "exiting", "errors", "sshLocalPort", "cloudInitProgress", "portForward", "vsock"]) {
    if (status[key] !== undefined && status[key] !== false) ordered[key] = status[key];
  }
  process.stdout.write(JSON.stringify({ time: rfc3339Nano(), status: ordered }) + "\n");
}

function logJson(level, msg) {
  process.stderr.write(JSON.stringify({ level, msg, time: rfc3339Nano().replace(/\.\d+/, "") }) + "\n");
}

// 1. ha.pid first (limactl start waits for it), then the API socket.
writeFileSync(file("ha.pid"), `${process.pid}\n`);
const sshLocalPort = inst.config.ssh.localPort || 49152 + Math.floor(Math.random() * 16000);
const server = http.createServer((req, res) => {
  if (req.url === "/v1/info") {
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ sshLocalPort }) + "\n");
  } else {
    res.statusCode = 404;
    res.end();
  }
});
rmSync(file("ha.sock"), { force: true });
server.listen(file("ha.sock"));
server.on("error", (error) => logJson("error", `ha.sock: ${error.message}`));

if (inst.loadWarnings.length > 0) logJson("warning", "Non-strict YAML detected; please check for typos");
logJson("info", `Starting VZ (hint: to watch the boot progress, see ${JSON.stringify(file("serial*.log"))}) [LimaWAN stand-in: no VM]`);

// 2. The "driver" is up: vz.pid (qemu.pid for vmType qemu) holds this process, as vz does.
writeFileSync(file(`${inst.vmType}.pid`), `${process.pid}\n`);
rmSync(file(GUEST_STATE), { force: true });
writeFileSync(
  file("ssh.config"),
  `# This SSH config file can be passed to 'ssh -F'.\n# This file is created by Lima, but not supposed to be modified by users.\nHost lima-${name}\n  IdentityFile "${path.join(home, "_config", "user")}"\n  User ${inst.config.user.name}\n  Hostname 127.0.0.1\n  Port ${sshLocalPort}\n`,
);
emit({ sshLocalPort });

// 3. The guest boots: DHCP, then `running`.
const leasesFile = process.env.LIMAWAN_DHCPD_LEASES || null;
/** Merge into the guest's state file: tests may have changed an address meanwhile (guest.mjs changeAddress). */
const updateGuest = (fields) => {
  if (existsSync(dir)) writeGuestState(dir, { booted: false, addresses: null, ...readGuestState(dir), ...fields });
};
const dhcp = () => {
  if (!existsSync(dir)) return;
  const addresses = acquireAddresses(home, inst, leasesFile);
  updateGuest({ addresses });
  logJson("info", `guest addresses: ${JSON.stringify(addresses)}`);
};
const leaseDelay = number(process.env.LIMACTL_STANDIN_LEASE_DELAY_MS, 0);
if (leaseDelay <= 0) dhcp();
else setTimeout(dhcp, leaseDelay);

setTimeout(() => {
  // The disk: made at the first boot (cloud-init and provisioning), kept across restarts.
  if (existsSync(dir)) seedGuestFs(home, inst);
  updateGuest({ booted: true });
  if (process.env.LIMACTL_STANDIN_DEGRADED === "1") {
    emit({ running: true, degraded: true, errors: ["stand-in: degraded on request (LIMACTL_STANDIN_DEGRADED=1)"] });
  } else {
    emit({ running: true });
  }
}, number(process.env.LIMACTL_STANDIN_BOOT_MS, 20));

// 4. Shutdown.
let exiting = false;
function shutdown() {
  if (exiting) return;
  exiting = true;
  if (existsSync(dir)) {
    for (const key of Object.keys(status)) delete status[key];
    emit({ exiting: true });
    logJson("info", "Shutting down the host agent");
    try {
      if (readFileSync(file("ha.pid"), "utf8").trim() === String(process.pid)) rmSync(file("ha.pid"), { force: true });
    } catch {
      // already removed
    }
  }
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 200).unref();
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);

// A test run that died must not leave sleeping host agents behind: stop when the instance
// directory (or the whole sandbox) is gone, and after a generous lifetime.
setInterval(() => {
  if (!existsSync(dir)) {
    server.close();
    process.exit(0);
  }
}, 250);
setTimeout(shutdown, number(process.env.LIMACTL_STANDIN_HOSTAGENT_TTL_MS, 15 * 60_000)).unref();
