// macOS bootpd's lease file (/var/db/dhcpd_leases; $LIMAWAN_DHCPD_LEASES in tests):
//   {
//   	name=lima-web
//   	ip_address=192.168.105.2
//   	hw_address=1,52:55:55:a:7:e1
//   	identifier=1,52:55:55:a:7:e1
//   	lease=0x68a8f2c1
//   }
// MAC octets without leading zeros (LIMA-FACTS.md §5), `lease` the expiry in hex epoch seconds.
// bootpd replaces the file as a whole, so writers here write a temporary file and rename it.
import { execFileSync } from "node:child_process";
import { closeSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { proc } from "./proc.mjs";

export const LEASE_SECONDS = 86_400;

/** `52:55:55:0a:07:e1` → `52:55:55:a:7:e1`, as bootpd writes it. */
export function bootpdMac(mac) {
  return mac
    .toLowerCase()
    .split(":")
    .map((o) => Number.parseInt(o, 16).toString(16))
    .join(":");
}

/** Blocks in file order, each an ordered list of [key, value] fields. */
export function parseLeaseBlocks(text) {
  const blocks = [];
  for (const chunk of text.split("{").slice(1)) {
    const body = chunk.split("}")[0] ?? "";
    const fields = [];
    for (const line of body.split("\n")) {
      const eq = line.indexOf("=");
      if (eq > 0) fields.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
    }
    blocks.push(fields);
  }
  return blocks;
}

export function formatLeaseBlocks(blocks) {
  return blocks.map((fields) => `{\n${fields.map(([k, v]) => `\t${k}=${v}\n`).join("")}}\n`).join("");
}

const field = (block, key) => block.find(([k]) => k === key)?.[1];
const macOf = (block) => {
  const hw = field(block, "hw_address") ?? "";
  return hw.includes(",") ? hw.slice(hw.indexOf(",") + 1) : hw;
};

export function readLeaseBlocks(file) {
  try {
    return parseLeaseBlocks(readFileSync(file, "utf8"));
  } catch (error) {
    if (error.code === "ENOENT") return [];
    throw error;
  }
}

/** The address currently leased to a MAC (the block with the latest expiry), or null. */
export function leasedAddress(file, mac) {
  const wanted = bootpdMac(mac);
  let best = null;
  for (const block of readLeaseBlocks(file)) {
    if (macOf(block) !== wanted) continue;
    const expiry = Number.parseInt(field(block, "lease") ?? "0", 16);
    if (!best || expiry >= best.expiry) best = { address: field(block, "ip_address"), expiry };
  }
  return best?.address ?? null;
}

function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Serialise read-modify-write of the lease file between concurrently starting VMs. */
export function withLeasesLock(file, fn) {
  const lock = `${file}.lock`;
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      closeSync(openSync(lock, "wx"));
      break;
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
      try {
        if (Date.now() - statSync(lock).mtimeMs > 2_000) rmSync(lock, { force: true }); // holder died
      } catch {
        // released meanwhile
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      sleepSync(3);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

function writeAtomically(file, text) {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${proc.pid}.tmp`);
  writeFileSync(temporary, text, { mode: 0o644 });
  renameSync(temporary, file);
}

function ipToNumber(ip) {
  return ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
}

function numberToIp(n) {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/** The first address after the gateway up to dhcpEnd that no other MAC holds. */
export function firstFreeAddress(blocks, network, mac) {
  const wanted = bootpdMac(mac);
  const taken = new Set(blocks.filter((b) => macOf(b) !== wanted).map((b) => field(b, "ip_address")));
  const gateway = ipToNumber(network.gateway);
  const end = network.dhcpEnd ? ipToNumber(network.dhcpEnd) : gateway - (gateway % 256) + 254;
  for (let n = gateway + 1; n <= end; n++) if (!taken.has(numberToIp(n))) return numberToIp(n);
  throw new Error(`no free address in ${network.gateway}–${numberToIp(end)}`);
}

/**
 * Write or renew the lease for `mac`: reuse its current block (bootpd keeps a client's block and
 * rewrites address and expiry), else add a new block first. `address` null = keep the leased
 * address, or take the first free one of `network`.
 */
/**
 * A lease as the guest's DHCP round gets it: from bootpd, a root daemon. When the e2e harness
 * provides one (LIMACTL_STANDIN_BOOTPD, a setuid-root launcher), the lease is written through it,
 * so the lease file is root's as on a Mac; otherwise in this process.
 */
export function requestLease(file, request) {
  const bootpd = proc.env.LIMACTL_STANDIN_BOOTPD;
  if (!bootpd) return upsertLease(file, request);
  return execFileSync(bootpd, [file, JSON.stringify(request)], { encoding: "utf8" }).trim();
}

export function upsertLease(file, { hostname, mac, address, network, nowSeconds = Math.floor(Date.now() / 1000) }) {
  return withLeasesLock(file, () => {
    const blocks = readLeaseBlocks(file);
    const hw = `1,${bootpdMac(mac)}`;
    const existing = blocks.find((b) => macOf(b) === bootpdMac(mac));
    const ip = address ?? (existing ? field(existing, "ip_address") : null) ?? firstFreeAddress(blocks, network, mac);
    const fields = [
      ["name", hostname],
      ["ip_address", ip],
      ["hw_address", hw],
      ["identifier", hw],
      ["lease", "0x" + (nowSeconds + LEASE_SECONDS).toString(16)],
    ];
    const next = existing ? blocks.map((b) => (b === existing ? fields : b)) : [fields, ...blocks];
    writeAtomically(file, formatLeaseBlocks(next));
    return ip;
  });
}

export function removeLease(file, mac) {
  withLeasesLock(file, () => {
    const blocks = readLeaseBlocks(file);
    writeAtomically(file, formatLeaseBlocks(blocks.filter((b) => macOf(b) !== bootpdMac(mac))));
  });
}
