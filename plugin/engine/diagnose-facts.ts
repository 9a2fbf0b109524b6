// The facts `diagnose` judges (diagnose.ts), read through the host's adapters: Lima and the
// guest, PF and LimaWAN's record, this Mac's ports and interfaces, and with --external the
// public address. Reads only, side by side; a fact that cannot be read is recorded with why
// (root's PF and state without root), never thrown, so every step gets judged.
import type { InterfaceName, Ipv4Address } from "../../compiler/ir.js";
import { isReason } from "../errors.js";
import type { Host } from "../host/index.js";
import { guestDevice, limaCannotRead, noSuchInstance, routableNetworks, type Instance } from "../host/lima.js";
import type { PortProbe } from "../host/listeners.js";
import { IP_FORWARDING } from "../host/sysctl.js";
import { pfConfHoldsPoints } from "./anchor-points.js";
import { readForStatus } from "./desired-state.js";
import { locateGuest } from "./locate-guest.js";
import { portsToProbe, wanInterfacesToCheck, type AddressFact, type DiagnoseFacts } from "./diagnose.js";
import { attempt, type Reading } from "./reading.js";
import { emptyState, readState } from "./state.js";
import { unreachableReason } from "./vm-address.js";
import { readRouterFacts } from "./router-apply.js";

export interface GatherOptions {
  /** Ask the internet for the Mac's public address (--external). */
  external: boolean;
  isRoot: boolean;
}

export async function gatherDiagnoseFacts(host: Host, name: string, options: GatherOptions): Promise<DiagnoseFacts> {
  const read = <T>(fn: () => Promise<T>): Promise<Reading<T>> => attempt(fn, options.isRoot);
  const [instance] = await host.lima.list([name]);
  if (!instance) throw noSuchInstance(name);
  const running = instance.status === "Running";
  const unreachable = unreachableReason(instance);
  const inGuest = running && !unreachable;
  const device = guestDevice(instance);

  const state = await read(() => readState(host));
  const recorded = state.ok ? state.value : emptyState();
  const [desired, address, guest, enabled, anchorPoints, labels, forwarding, defaultInterface, publicAddress] = await Promise.all([
    // Compiled against the VMs whose rules are loaded, as status does: a port another holds is an error here too.
    // Lima was just asked about this instance: reading one name needs no second listing.
    readForStatus(host, recorded, [name], { skipAddresses: true, listing: Promise.resolve([instance]) }),
    inGuest ? locate(host, instance) : Promise.resolve(null),
    inGuest
      ? Promise.all([read(() => host.lima.guest.ipv4Addresses(name, device)), read(() => host.lima.guest.defaultRoutes(name)), read(() => host.lima.guest.listeningSockets(name))]).then(
          ([addresses, routes, sockets]) => ({ addresses, routes, sockets }),
        )
      : Promise.resolve(null),
    read(() => host.pfctl.enabled()),
    read(() => host.pfctl.loadedAnchorPoints()),
    read(async () => new Set((await host.pfctl.labels()).keys()) as ReadonlySet<string>),
    read(() => host.sysctl.get(IP_FORWARDING)),
    host.route.defaultInterface(),
    options.external ? read(() => host.publicAddress.lookup()) : Promise.resolve(null),
  ]);
  const pfConfPoints = anchorPoints.ok && !(anchorPoints.value.rdr && anchorPoints.value.filter) ? await pfConfHoldsPoints(host) : null;

  const entry = desired.read.find((r) => r.instance.name === name);
  const skipped = desired.skipped.find((s) => s.instance === name);
  const spec = entry?.result.spec ?? null;
  const diagnostics = entry?.result.diagnostics ?? [];

  // Binding ports one at a time: two probes of one port at once would see each other.
  const hostPorts = new Map<string, PortProbe>();
  for (const forward of spec?.forwards ?? []) {
    for (const { protocol, port } of portsToProbe(forward)) hostPorts.set(`${protocol}/${port}`, await host.listeners.probe(protocol, port));
  }
  // The router is asked only for a VM with forwards marked `router` (they opted in).
  const routed = spec?.forwards.filter((f) => f.router) ?? [];
  const wanForRouter = (routed[0]?.interfaces?.[0] ?? defaultInterface ?? "en0") as InterfaceName;
  const router = routed.length > 0 ? { facts: await readRouterFacts(host, wanForRouter, routed.some((f) => f.router!.upnp)), recorded: state.ok ? state.value.router : null } : null;
  const interfaces = new Map<string, Reading<Awaited<ReturnType<Host["ifconfig"]["describe"]>>>>();
  await Promise.all(wanInterfacesToCheck(spec, state.ok ? state.value : null, defaultInterface).map(async (iface) => interfaces.set(iface, await read(() => host.ifconfig.describe(iface)))));

  return {
    instance: name,
    status: instance.status,
    limaError: limaCannotRead(instance) ? await host.lima.cannotReadReason(instance) : null,
    unreachable,
    device,
    network: routableNetworks(instance)[0]?.lima ?? null,
    file: entry?.file ?? host.lima.configFile(name),
    leasesFile: host.leases.file,
    annotation: {
      annotated: entry?.result.annotated ?? false,
      spec,
      errors: diagnostics.filter((d) => d.severity === "error").length,
      warnings: diagnostics.filter((d) => d.severity === "warning").length,
      ...(entry ? {} : { unreadable: skipped?.reason ?? "cannot read it" }),
    },
    address,
    guest,
    pf: { enabled, anchorPoints, labels, forwarding },
    state,
    pfConfPoints,
    now: Date.now(),
    hostPorts,
    defaultInterface,
    interfaces,
    publicAddress,
    router,
  };
}

async function locate(host: Host, instance: Instance): Promise<AddressFact> {
  try {
    const located = await locateGuest(host, instance);
    return located ? { kind: "found", address: located.address as Ipv4Address, source: located.source } : { kind: "none" };
  } catch (error) {
    // locateGuest refuses an address PF must never redirect to, saying why.
    if (isReason(error, "address-refused")) return { kind: "refused", reason: error.message };
    return { kind: "error", reason: error instanceof Error ? error.message : String(error) };
  }
}
