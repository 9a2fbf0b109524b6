// The stand-in guest's network side: which addresses its interfaces get when it "boots" (the
// DHCP lease bootpd would write for vmnet shared/host and vzNAT networks, a LAN address for
// bridged ones) and what `ip addr` inside it reports. Tests steer addresses with
// $LIMA_HOME/NAME/standin-ip: one IPv4 address per line, line N for networks[N-1].
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { leasedAddress, requestLease } from "./leases.mjs";
import { networksConfig } from "./lima-store.mjs";
import { proc } from "./proc.mjs";

export const GUEST_STATE = "standin-guest.json";
export const OVERRIDE_FILE = "standin-ip";

/** vzNAT's range is not configurable; macOS uses 192.168.64.0/24 on bridge100 (LIMA-FACTS §5). */
const VZNAT = { mode: "vznat", gateway: "192.168.64.1", dhcpEnd: "192.168.64.254", netmask: "255.255.255.0" };
/** The LAN behind the route/ifconfig stand-ins' en0 (203.0.113.0/24, gateway .1). */
const BRIDGED_LAN_BASE = "203.0.113.";

export function overrideAddresses(dir) {
  try {
    return readFileSync(path.join(dir, OVERRIDE_FILE), "utf8").split("\n").map((l) => l.trim());
  } catch {
    return [];
  }
}

/**
 * How each of the instance's networks gets its address: `leased` ones through bootpd's lease
 * file (vmnet shared/host, vzNAT), `bridged` ones from the LAN's DHCP server, `socket` ones
 * (socket_vmnet by path) from whatever serves that socket.
 */
export function guestNetworks(home, inst) {
  const known = networksConfig(home);
  return inst.networks.map((nw, index) => {
    const base = { index, interface: nw.interface, mac: nw.macAddress, metric: nw.metric ?? 100 };
    if (nw.vzNAT) return { ...base, kind: "leased", network: VZNAT };
    if (nw.lima) {
      const config = known[nw.lima] ?? {};
      if (config.mode === "bridged") return { ...base, kind: "bridged" };
      if (config.mode === "user-v2") return { ...base, kind: "user-v2", network: config };
      return { ...base, kind: "leased", network: config };
    }
    return { ...base, kind: "socket" };
  });
}

/**
 * The guest's DHCP round: every leased network gets (or renews) its lease in `leasesFile` (when
 * set; the stand-ins never write /var/db), the others an address of their own. Returns
 * { lima0: "192.168.105.2", … }.
 */
export function acquireAddresses(home, inst, leasesFile) {
  const overrides = overrideAddresses(inst.dir);
  const addresses = {};
  for (const nw of guestNetworks(home, inst)) {
    const wanted = overrides[nw.index] || null;
    if (nw.kind === "leased") {
      addresses[nw.interface] = leasesFile
        ? requestLease(leasesFile, { hostname: inst.hostname, mac: nw.mac, address: wanted, network: nw.network })
        : (wanted ?? nextAddress(nw.network.gateway));
    } else if (nw.kind === "user-v2") {
      addresses[nw.interface] = wanted ?? nextAddress(nw.network.gateway);
    } else if (nw.kind === "bridged") {
      addresses[nw.interface] = wanted ?? `${BRIDGED_LAN_BASE}${100 + nw.index}`;
    } else if (wanted) {
      addresses[nw.interface] = wanted;
    }
  }
  return addresses;
}

function nextAddress(gateway) {
  const octets = gateway.split(".").map(Number);
  octets[3] += 1;
  return octets.join(".");
}

export function readGuestState(dir) {
  try {
    return JSON.parse(readFileSync(path.join(dir, GUEST_STATE), "utf8"));
  } catch {
    return null;
  }
}

export function writeGuestState(dir, state) {
  const file = path.join(dir, GUEST_STATE);
  const temporary = `${file}.${proc.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(state) + "\n", { mode: 0o644 });
  renameSync(temporary, file);
}

/** Set a running guest's address (a DHCP renewal that changed it), lease file included. */
export function changeAddress(home, inst, index, address, leasesFile) {
  const nw = guestNetworks(home, inst)[index];
  if (!nw) throw new Error(`${inst.name} has no networks[${index}]`);
  if (nw.kind === "leased" && leasesFile && leasedAddress(leasesFile, nw.mac) !== null) {
    requestLease(leasesFile, { hostname: inst.hostname, mac: nw.mac, address, network: nw.network });
  }
  // A guest that is up (its state file exists) now has this address too, DHCP round or not.
  const state = readGuestState(inst.dir);
  if (state) writeGuestState(inst.dir, { ...state, addresses: { ...(state.addresses ?? {}), [nw.interface]: address } });
}
