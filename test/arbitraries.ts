// fast-check arbitraries shared by the property tests (compiler, PF packet model, …).
//
// Valid IR — every value is one the validators accept, so the result is a real VmSpec:
//   arbitraryVmSpec(options?)      one VM (`allow routed` or not): valid name, forwards with unique names, guest and host
//                                  ranges of equal length, protocols, canonical sources, interfaces,
//                                  limit/max only on tcp or tcp+udp, log, router (upnp or not). Host ports never overlap
//                                  per protocol (a tcp and a udp forward may share a port, as the
//                                  DSL allows). `line` of forward i is 4 + i, as in limaYamlOf().
//   arbitraryVmSpecs(options?)     several VMs: distinct names, host ports disjoint across all VMs.
//   arbitraryPlacedVms(options?)   arbitraryVmSpecs with a VM address each (emitAnchor's input).
//   limaYamlOf(spec)               lima.yaml text whose annotation compiles back to exactly `spec`
//                                  (plus an LW603 warning per tcp+udp forward with limit/max).
//   statementOfForward(forward)    the `expose` statement of one valid forward.
//   arbitraryVmName, arbitraryForwardName, arbitraryInterfaceName, arbitraryCidr (canonical, as
//   checkSource() in compiler/validate/addresses.ts writes it: no `/32`, host bits cleared),
//   arbitraryVmAddress (an Ipv4Address, canonical dotted quad).
//   Options: `vm`/`file` fix the VM's identity (default file `<vm>/lima.yaml`); `interfaces`
//   restricts WAN interface names to a pool (e.g. the interfaces a packet model knows);
//   `hostPorts` is the [first, last] window host ports are laid out in (default [1024, 65535]);
//   `maxForwards` (default 8 per VM, 5 per VM in arbitraryVmSpecs); `minVms`/`maxVms` (1–4).
//   Forwards with `interfaces: null` use the host's default interfaces (HostFacts).
//
// DSL text — statements as users write them:
//   arbitraryVmDraftDsl            statements covering every form of the DSL (block or list
//                                  layout chosen by the caller), including wrong values (port 70000,
//                                  bad names, IPv6, `rdr-to`): anything that lowers to a VmDraft.
//                                  Numbers stay below 16 digits, so a draft prints back exactly.
//   arbitraryAnnotation(base, n)   valid `expose` statements, host ports from `base` upwards, with
//                                  the shapes they were made from (used by test/pf-model).
//   arbitraryForwardStatement      one valid `expose` statement.
//   arbitraryDslNoise              strings of DSL keywords, numbers and punctuation, for "never throws".
//   arbitraryMutatedStatement      a valid statement with characters inserted, deleted or replaced.
//
// Router mapping messages (plugin/router) — valid field values, as the codecs take them:
//   arbitraryIpv4Address (any dotted quad), arbitraryPort (0–65535), arbitraryUint32,
//   arbitraryNonce (12 bytes), arbitraryPcpMapRequest, arbitraryPcpResponse (MAP data or,
//   on an error, the header alone), arbitraryNatPmpMapRequest, arbitraryNatPmpResponse.
import fc from "fast-check";
import type { Cidr, Forward, ForwardName, InterfaceName, Ipv4Address, Protocol, RouterMapping, VmName, VmSpec } from "../compiler/ir.js";
import { MAX_RATE_PRODUCT } from "../compiler/validate/limits.js";
import type { NatPmpMapRequest, NatPmpResponse } from "../plugin/router/nat-pmp-codec.js";
import type { TransportProtocol } from "../plugin/router/packet.js";
import type { PcpMapRequest, PcpResponse } from "../plugin/router/pcp-codec.js";

// ---------------------------------------------------------------------------------------------
// Tokens

/** `[a-z][a-z0-9-]*`, ≤32 characters. Never `as`: the grammar reads that as the keyword. */
export const arbitraryForwardName: fc.Arbitrary<ForwardName> = fc
  .oneof(
    { weight: 4, arbitrary: fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/) },
    { weight: 1, arbitrary: fc.stringMatching(/^[a-z][a-z0-9-]{20,31}$/) },
  )
  .filter((n) => n !== "as")
  .map((n) => n as ForwardName);

/** Lima instance names PF identifiers can carry: `[A-Za-z0-9][A-Za-z0-9._-]*`, ≤48 characters. */
export const arbitraryVmName: fc.Arbitrary<VmName> = fc
  .oneof(
    { weight: 4, arbitrary: fc.stringMatching(/^[a-z][a-z0-9-]{0,9}$/) },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,47}$/) },
    // Long enough that PF names must be shortened (tables at 31, tags and labels at 63).
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{30,47}$/) },
  )
  .map((n) => n as VmName);

/** BSD interface names (driver + unit), never loopback. */
export const arbitraryInterfaceName: fc.Arbitrary<InterfaceName> = fc
  .oneof(
    { weight: 3, arbitrary: fc.constantFrom("en0", "en1", "en7", "bridge100", "utun3") },
    { weight: 1, arbitrary: fc.stringMatching(/^[a-z]{1,12}[0-9]{1,3}$/) },
  )
  .filter((n) => !n.startsWith("lo"))
  .map((n) => n as InterfaceName);

const dotted = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");

/** Canonical IPv4 network or host: `198.51.100.7`, `203.0.113.0/24` (never `/32`, no host bits). */
export const arbitraryCidr: fc.Arbitrary<Cidr> = fc
  .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.oneof(fc.constant(32), fc.integer({ min: 0, max: 32 })))
  .map(([address, prefix]) => {
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    const network = dotted((address & mask) >>> 0);
    return (prefix === 32 ? network : `${network}/${prefix}`) as Cidr;
  });

export const arbitraryVmAddress: fc.Arbitrary<Ipv4Address> = fc
  .integer({ min: 0x01000000, max: 0xdfffffff })
  .map((n) => dotted(n) as Ipv4Address);

// ---------------------------------------------------------------------------------------------
// Valid VmSpecs

export interface SpecOptions {
  vm?: string;
  file?: string;
  /** Pool of WAN interface names for `on` (default: any valid name). */
  interfaces?: readonly string[];
  /** Window for host ports, inclusive (default [1024, 65535]). */
  hostPorts?: readonly [number, number];
  maxForwards?: number;
}

/** A forward before its host ports are laid out. */
interface ForwardPlan {
  name: ForwardName;
  protocol: Protocol;
  guestFirst: number;
  length: number;
  /** Host ports skipped before this forward. */
  gap: number;
  /** Take the previous forward's host port when the protocols do not meet (tcp next to udp). */
  share: boolean;
  sources: Cidr[];
  interfaces: InterfaceName[] | null;
  limit: { count: number; seconds: number } | null;
  max: number | null;
  log: boolean;
  router: RouterMapping | null;
}

const arbitraryRouter: fc.Arbitrary<RouterMapping | null> = fc.option(fc.record({ upnp: fc.boolean() }), { nil: null });

function forwardPlan(options: SpecOptions): fc.Arbitrary<ForwardPlan> {
  const iface = options.interfaces ? fc.constantFrom(...(options.interfaces as InterfaceName[])) : arbitraryInterfaceName;
  return fc
    .record({
      name: arbitraryForwardName,
      protocol: fc.constantFrom<Protocol>("tcp", "udp", "tcp+udp"),
      length: fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 20 }) }),
      guestFirst: fc.integer({ min: 1, max: 65_535 }),
      gap: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 200 })),
      share: fc.boolean(),
      sources: fc.uniqueArray(arbitraryCidr, { maxLength: 3 }),
      interfaces: fc.option(fc.uniqueArray(iface, { minLength: 1, maxLength: 3 }), { nil: null }),
      // Any count and period the validator takes, up to what PF's 32-bit rate arithmetic can hold.
      limit: fc.option(
        fc
          .record({ count: fc.integer({ min: 1, max: 1_000_000 }), seconds: fc.integer({ min: 1, max: 86_400 }) })
          .map(({ count, seconds }) => ({ count, seconds: Math.min(seconds, Math.floor(MAX_RATE_PRODUCT / (count + 1))) })),
        { nil: null },
      ),
      max: fc.option(fc.integer({ min: 1, max: 1_000_000 }), { nil: null }),
      log: fc.boolean(),
      // Ranges stay within the 64 ports `router` may map (compiler/validate/router.ts).
      router: arbitraryRouter,
    })
    .map((p) => ({
      ...p,
      guestFirst: Math.min(p.guestFirst, 65_536 - p.length),
      // PF counts connections for TCP only; on udp forwards limit/max are errors (LW601).
      limit: p.protocol === "udp" ? null : p.limit,
      max: p.protocol === "udp" ? null : p.max,
    }));
}

const meets = (a: Protocol, b: Protocol) => a === b || a === "tcp+udp" || b === "tcp+udp";

/**
 * Lay host ports out left to right from `cursor`; returns null when the window is too small
 * (the caller filters those out, which is rare with the default window).
 */
function layOut(vm: VmName, file: string, plans: readonly ForwardPlan[], cursor: number, ceiling: number, allowRouted = false): { spec: VmSpec; next: number } | null {
  const forwards: Forward[] = [];
  let previous: Forward | null = null;
  let previousShared = false;
  let next = cursor;
  for (const [i, p] of plans.entries()) {
    // Sharing is safe only with a forward that did not itself share (else the one before it
    // could meet this protocol on the same port).
    const share: boolean = p.share && previous !== null && !previousShared && !meets(previous.protocol, p.protocol);
    const first: number = share ? previous!.host.first : next + p.gap;
    const last = first + p.length - 1;
    if (last > ceiling) return null;
    const forward: Forward = {
      name: p.name,
      protocol: p.protocol,
      guest: { first: p.guestFirst, last: p.guestFirst + p.length - 1 },
      host: { first, last },
      sources: p.sources,
      interfaces: p.interfaces,
      limit: p.limit,
      max: p.max,
      log: p.log,
      router: p.router,
      line: 4 + i,
    };
    forwards.push(forward);
    next = Math.max(next, last + 1);
    previous = forward;
    previousShared = share;
  }
  return { spec: { vm, file, forwards, allowRouted }, next };
}

function plans(options: SpecOptions): fc.Arbitrary<ForwardPlan[]> {
  return fc.uniqueArray(forwardPlan(options), { minLength: 1, maxLength: options.maxForwards ?? 8, selector: (p) => p.name });
}

export function arbitraryVmSpec(options: SpecOptions = {}): fc.Arbitrary<VmSpec> {
  const [floor, ceiling] = options.hostPorts ?? [1024, 65_535];
  const vm = options.vm !== undefined ? fc.constant(options.vm as VmName) : arbitraryVmName;
  return fc
    .tuple(vm, plans(options), fc.integer({ min: floor, max: ceiling }), fc.boolean())
    .map(([name, forwardPlans, start, allowRouted]) => {
      // Start anywhere in the window, but fall back to its floor when the forwards do not fit.
      const file = options.file ?? `${name}/lima.yaml`;
      const laid = layOut(name, file, forwardPlans, start, ceiling, allowRouted) ?? layOut(name, file, forwardPlans, floor, ceiling, allowRouted);
      return laid?.spec ?? null;
    })
    .filter((spec): spec is VmSpec => spec !== null);
}

export function arbitraryVmSpecs(options: SpecOptions & { minVms?: number; maxVms?: number } = {}): fc.Arbitrary<VmSpec[]> {
  const [floor, ceiling] = options.hostPorts ?? [1024, 65_535];
  const perVm = { ...options, maxForwards: options.maxForwards ?? 5 };
  return fc
    .uniqueArray(fc.tuple(arbitraryVmName, plans(perVm), fc.boolean()), {
      minLength: options.minVms ?? 1,
      maxLength: options.maxVms ?? 4,
      // PF identifiers are case-sensitive, but keep names distinct ignoring case too: two VMs
      // `Web` and `web` are confusing and are not what these properties are about.
      selector: ([vm]) => vm.toLowerCase(),
    })
    .map((vms) => {
      const specs: VmSpec[] = [];
      let cursor = floor;
      for (const [vm, forwardPlans, allowRouted] of vms) {
        const laid = layOut(vm, `${vm}/lima.yaml`, forwardPlans, cursor, ceiling, allowRouted);
        if (!laid) return null;
        specs.push(laid.spec);
        cursor = laid.next;
      }
      return specs;
    })
    .filter((specs): specs is VmSpec[] => specs !== null);
}

export function arbitraryPlacedVms(options: SpecOptions & { minVms?: number; maxVms?: number } = {}): fc.Arbitrary<Array<{ spec: VmSpec; address: Ipv4Address }>> {
  return arbitraryVmSpecs(options).chain((specs) =>
    fc.uniqueArray(arbitraryVmAddress, { minLength: specs.length, maxLength: specs.length }).map((addresses) => specs.map((spec, i) => ({ spec, address: addresses[i]! }))),
  );
}

const portText = (r: { first: number; last: number }) => (r.first === r.last ? String(r.first) : `${r.first}-${r.last}`);

/** One `expose` statement for a valid forward, every value written out explicitly. */
export function statementOfForward(f: Forward): string {
  const parts = ["expose", f.name, `${portText(f.guest)}/${f.protocol}`, "as", portText(f.host)];
  if (f.sources.length > 0) parts.push("from", f.sources.join(", "));
  if (f.interfaces) parts.push("on", f.interfaces.join(", "));
  if (f.limit) parts.push("limit", `${f.limit.count}/${f.limit.seconds}s`);
  if (f.max !== null) parts.push("max", String(f.max));
  if (f.log) parts.push("log");
  if (f.router) parts.push(f.router.upnp ? "router upnp" : "router");
  return parts.join(" ");
}

/** lima.yaml for a spec: statement i on line 4 + i, matching the spec's `line` fields. */
export function limaYamlOf(spec: VmSpec): string {
  // `allow routed` last, so statement i stays on line 4 + i.
  return `networks:\n  - lima: shared\nx-limawan: |\n${spec.forwards.map((f) => `  ${statementOfForward(f)}\n`).join("")}${spec.allowRouted ? "  allow routed\n" : ""}`;
}

// ---------------------------------------------------------------------------------------------
// DSL text for arbitrary drafts (valid or not)

const digits = (max: number) => fc.integer({ min: 0, max }).map(String);
const numberText = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 65_535 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom("0", "70000", "65536", "007", "123456789012345") },
);
const protocolText = fc.constantFrom("tcp", "udp", "tcp+udp", "udp+tcp");
/** Mostly single ports or short ascending ranges; sometimes a backwards or wild one. */
const rangeText = fc.oneof(
  { weight: 4, arbitrary: numberText },
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 1, max: 65_000 }), fc.integer({ min: 0, max: 20 })).map(([first, extra]) => `${first}-${first + extra}`) },
  { weight: 1, arbitrary: fc.tuple(numberText, numberText).map(([first, last]) => `${first}-${last}`) },
);
const portSpecText = fc
  .tuple(rangeText, fc.option(protocolText, { nil: null, freq: 2 }))
  .map(([range, protocol]) => `${range}${protocol !== null ? `/${protocol}` : ""}`);
/** What the grammar reads as a Name: `[A-Za-z_][A-Za-z0-9_.-]*`, except the keyword `as`. */
const nameText = fc
  .oneof(
    { weight: 3, arbitrary: fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/) },
    { weight: 2, arbitrary: fc.constantFrom("ssh", "http", "https", "dns", "ntp", "wireguard", "sshh", "log", "from", "rdr-to", "Web", "_x") },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,40}$/) },
  )
  .filter((n) => n !== "as");
const addressText = fc.oneof(
  { weight: 3, arbitrary: arbitraryCidr.map(String) },
  { weight: 1, arbitrary: fc.constantFrom("any", "203.0.113.5/24", "10.0.0.300", "1.2.3.4/33", "2001:db8::/32", "::1", "rdr-to", "1.2.3.4/024", "<table>") },
);
const interfaceText = fc.oneof(
  { weight: 3, arbitrary: arbitraryInterfaceName.map(String) },
  { weight: 1, arbitrary: fc.constantFrom("lo0", "EN0", "rdr-to", "en", "(en0)") },
);
const list = (item: fc.Arbitrary<string>) => fc.array(item, { minLength: 1, maxLength: 3 }).map((items) => items.join(", "));
const optionText = fc.oneof(
  list(addressText).map((a) => `from ${a}`),
  list(interfaceText).map((i) => `on ${i}`),
  fc.tuple(numberText, digits(999_999), fc.constantFrom("", "s", "m", "h")).map(([n, d, unit]) => `limit ${n}/${d}${unit}`),
  numberText.map((n) => `max ${n}`),
  fc.constant("log"),
  fc.constantFrom("router", "router upnp", "upnp"),
);
const exposeText = fc
  .tuple(fc.option(nameText, { nil: null }), fc.option(portSpecText, { nil: null }), portSpecText, fc.array(optionText, { maxLength: 4 }))
  .map(([name, guest, host, options]) => ["expose", ...(name !== null ? [name] : []), ...(guest !== null ? [guest] : []), "as", host, ...options].join(" "));
const comment = fc.option(fc.constantFrom("# a comment", "#", "# expose x 1 as 2"), { nil: null });

/** Statements (one per element) covering every DSL form, as lines of an annotation. */
export const arbitraryVmDraftDsl: fc.Arbitrary<string[]> = fc
  .array(
    fc
      .tuple(
        fc.oneof(
          { weight: 8, arbitrary: exposeText },
          { weight: 1, arbitrary: list(interfaceText).map((i) => `interface ${i}`) },
          { weight: 1, arbitrary: list(addressText).map((a) => `allow from ${a}`) },
          { weight: 1, arbitrary: fc.constant("allow privileged") },
          { weight: 1, arbitrary: fc.constant("") },
        ),
        comment,
      )
      .map(([statement, note]) => (note === null ? statement : `${statement}${statement === "" ? "" : "  "}${note}`)),
    { minLength: 1, maxLength: 10 },
  );

// ---------------------------------------------------------------------------------------------
// Valid statements with their shapes (test/pf-model builds its expectations from these)

// `as` cannot be a name: the grammar reads it as the keyword (`expose as 8080`).
const names = fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/).filter((n) => n !== "as");
const octet = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join("."));
const cidr = fc.oneof(ipv4, fc.tuple(ipv4, fc.integer({ min: 0, max: 32 })).map(([a, p]) => `${a}/${p}`));
const iface = fc.constantFrom("en0", "en1", "en7", "bridge100", "utun3");

export interface ForwardShape {
  name: string;
  guest: number;
  length: number;
  protocol: "tcp" | "udp" | "tcp+udp";
  from: string[] | null;
  on: string[] | null;
  limit: [number, number] | null;
  max: number | null;
  log: boolean;
  router: RouterMapping | null;
}

const forwardShape: fc.Arbitrary<ForwardShape> = fc
  .record({
    name: names,
    guest: fc.integer({ min: 1, max: 60_000 }),
    length: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 20 })),
    protocol: fc.constantFrom("tcp" as const, "udp" as const, "tcp+udp" as const),
    from: fc.option(fc.uniqueArray(cidr, { minLength: 1, maxLength: 3 }), { nil: null }),
    on: fc.option(fc.uniqueArray(iface, { minLength: 1, maxLength: 2 }), { nil: null }),
    limit: fc.option(fc.tuple(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 3600 })), { nil: null }),
    max: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: null }),
    log: fc.boolean(),
    router: arbitraryRouter,
  })
  // limit/max count TCP connections; on UDP-only forwards they are errors, not valid input.
  .map((f) => (f.protocol === "tcp" ? f : { ...f, limit: null, max: null }));

export function statementOf(f: ForwardShape, host: number): string {
  const range = (first: number) => (f.length === 1 ? String(first) : `${first}-${first + f.length - 1}`);
  const parts = ["expose", f.name, `${range(f.guest)}/${f.protocol}`, "as", range(host)];
  if (f.from) parts.push("from", f.from.join(", "));
  if (f.on) parts.push("on", f.on.join(", "));
  if (f.limit) parts.push("limit", `${f.limit[0]}/${f.limit[1]}s`);
  if (f.max) parts.push("max", String(f.max));
  if (f.log) parts.push("log");
  if (f.router) parts.push(f.router.upnp ? "router upnp" : "router");
  return parts.join(" ");
}

/** Valid statements: unique names, host ports laid out without overlap from `base`. */
export function arbitraryAnnotation(base = 10_000, maxForwards = 8): fc.Arbitrary<{ shapes: ForwardShape[]; hosts: number[]; statements: string[] }> {
  return fc.uniqueArray(forwardShape, { minLength: 1, maxLength: maxForwards, selector: (f) => f.name }).map((shapes) => {
    const hosts: number[] = [];
    let next = base;
    for (const f of shapes) {
      hosts.push(next);
      next += f.length + 1;
    }
    return { shapes, hosts, statements: shapes.map((f, i) => statementOf(f, hosts[i]!)) };
  });
}

export const arbitraryForwardStatement = forwardShape.map((f) => statementOf(f, 20_000));

// ---------------------------------------------------------------------------------------------
// Noise

const KEYWORDS = ["expose", "as", "from", "on", "limit", "max", "log", "router", "upnp", "interface", "allow", "privileged", "any", "tcp", "udp", "tcp+udp", "rdr-to", "ssh", "en0", "lo0"];
const PUNCTUATION = ["#", ",", "/", "-", ":", ".", "\t", " ", "\n", "\r", "|", ">", "\"", "'", "{", "}", "<", "\\", "*", "&", "!", "%", "@", "`", "[", "]", "\u0000", "\u2028", "é"];

export const arbitraryDslNoise: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...KEYWORDS) },
      { weight: 3, arbitrary: fc.constantFrom(...PUNCTUATION) },
      { weight: 3, arbitrary: fc.oneof(fc.integer({ min: 0, max: 99_999 }).map(String), fc.constantFrom("1.2.3.4", "10.0.0.0/8", "1-2", "5/30s", "99999999999999999999", "::1")) },
      { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
    ),
    { maxLength: 30 },
  )
  .chain((parts) => fc.array(fc.constantFrom(" ", "", "  "), { minLength: parts.length, maxLength: parts.length }).map((gaps) => parts.map((p, i) => p + gaps[i]).join("")));

/** A valid statement with a few characters inserted, deleted or replaced. */
export const arbitraryMutatedStatement: fc.Arbitrary<string> = fc
  .tuple(
    arbitraryForwardStatement,
    fc.array(fc.tuple(fc.constantFrom("insert", "delete", "replace"), fc.nat(), fc.constantFrom(...PUNCTUATION, ...KEYWORDS, "0", "9", "a", "Z")), { minLength: 1, maxLength: 4 }),
  )
  .map(([statement, edits]) => {
    let text = statement;
    for (const [kind, at, piece] of edits) {
      const i = text.length === 0 ? 0 : at % text.length;
      text = kind === "insert" ? text.slice(0, i) + piece + text.slice(i) : kind === "delete" ? text.slice(0, i) + text.slice(i + 1) : text.slice(0, i) + piece + text.slice(i + 1);
    }
    return text;
  });

// ---------------------------------------------------------------------------------------------
// Router mapping messages

export const arbitraryIpv4Address: fc.Arbitrary<Ipv4Address> = fc.integer({ min: 0, max: 0xffffffff }).map((n) => dotted(n >>> 0) as Ipv4Address);
export const arbitraryPort = fc.integer({ min: 0, max: 0xffff });
export const arbitraryUint32 = fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0, 7200, 0xffffffff));
export const arbitraryNonce = fc.uint8Array({ minLength: 12, maxLength: 12 });
const arbitraryTransport = fc.constantFrom<TransportProtocol>("tcp", "udp");

export const arbitraryPcpMapRequest: fc.Arbitrary<PcpMapRequest> = fc.record({
  lifetime: arbitraryUint32,
  clientAddress: arbitraryIpv4Address,
  nonce: arbitraryNonce,
  protocol: arbitraryTransport,
  internalPort: arbitraryPort,
  suggestedExternalPort: arbitraryPort,
  // 0.0.0.0 is how "no preference" travels, so it reads back as null.
  suggestedExternalAddress: fc.option(arbitraryIpv4Address.filter((a) => a !== "0.0.0.0"), { nil: null }),
});

export const arbitraryPcpResponse: fc.Arbitrary<PcpResponse> = fc
  .record({
    resultCode: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 255 })),
    lifetime: arbitraryUint32,
    epoch: arbitraryUint32,
    map: fc.record({ nonce: arbitraryNonce, protocol: arbitraryTransport, internalPort: arbitraryPort, externalPort: arbitraryPort, externalAddress: arbitraryIpv4Address }),
    headerOnly: fc.boolean(),
  })
  // A success always carries its MAP data; an error may come before the opcode was read.
  .map(({ headerOnly, map, ...rest }) => ({ opcode: 1, ...rest, map: headerOnly && rest.resultCode !== 0 ? null : map }));

export const arbitraryNatPmpMapRequest: fc.Arbitrary<NatPmpMapRequest> = fc.record({
  protocol: arbitraryTransport,
  internalPort: arbitraryPort,
  suggestedExternalPort: arbitraryPort,
  lifetime: arbitraryUint32,
});

export const arbitraryNatPmpResponse: fc.Arbitrary<NatPmpResponse> = fc.oneof(
  fc.record({ kind: fc.constant("external-address" as const), resultCode: fc.constant(0 as const), epoch: arbitraryUint32, externalAddress: arbitraryIpv4Address }),
  fc.record({ kind: fc.constant("map" as const), resultCode: fc.constant(0 as const), epoch: arbitraryUint32, protocol: arbitraryTransport, internalPort: arbitraryPort, externalPort: arbitraryPort, lifetime: arbitraryUint32 }),
  fc.record({ kind: fc.constant("error" as const), opcode: fc.constantFrom(0, 1, 2, 3, 127), resultCode: fc.integer({ min: 1, max: 0xffff }), epoch: arbitraryUint32 }),
);
