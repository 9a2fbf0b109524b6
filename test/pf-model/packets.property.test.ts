// For random valid annotations and random packets, the compiled anchor — read by an
// independent evaluator, as pfctl would — sends a packet to VM:port exactly when the IR says
// it should, keeps its source address, and leaves unrelated traffic alone.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { emitAnchor } from "../../compiler/emit-pf.js";
import type { InterfaceName, Ipv4Address } from "../../compiler/ir.js";
import { compileFile } from "../../compiler/pipeline.js";
import { arbitraryAnnotation } from "../arbitraries.js";
import { yamlBlock } from "../compiler/helpers.js";
// @ts-ignore plain ESM test model
import { evaluate, loadAnchor } from "./evaluate.mjs";

const VM = "192.168.105.7";
const INTERFACES: Record<string, string> = { en0: "203.0.113.10", en1: "198.51.100.10", en7: "192.0.2.10", bridge100: "192.168.105.1", utun3: "10.8.0.2" };
const octet = fc.integer({ min: 0, max: 255 });
const anyAddress = fc.tuple(octet, octet, octet, octet).map((o) => o.join("."));

const ip = (t: string) => t.split(".").reduce((n, o) => n * 256 + Number(o), 0);
const inCidr = (cidr: string, a: string) => {
  const [base, bits = "32"] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ip(a) / size) === Math.floor(ip(base!) / size);
};

describe("compiled rules, evaluated as PF would", () => {
  it("forward exactly what the IR says, to the right port, keeping the source", () => {
    const seen = { forwarded: 0, refused: 0, blocked: 0 };
    fc.assert(
      fc.property(
        arbitraryAnnotation(),
        fc.nat(),
        fc.constantFrom(...Object.keys(INTERFACES)),
        fc.constantFrom("tcp" as const, "udp" as const),
        anyAddress,
        fc.integer({ min: -2, max: 25 }),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        ({ statements }, pick, randomIface, randomProto, randomSource, randomOffset, useListedSource, banned, aim) => {
          const spec = compileFile({ vm: "web", file: "web.yaml", text: yamlBlock(...statements) }).spec!;
          const emitted = emitAnchor([{ spec, address: VM as Ipv4Address }], { defaultInterfaces: ["en0" as InterfaceName] });
          if (!emitted.ok) throw new Error("emit failed");
          const ruleset = loadAnchor(emitted.text);
          const f = spec.forwards[pick % spec.forwards.length]!;
          // Half the packets are aimed at the forward (its interface, protocol, a port in range).
          const iface = aim ? (f.interfaces ?? ["en0"])[0]! : randomIface;
          const proto = aim ? (f.protocol === "udp" ? "udp" : "tcp") : randomProto;
          const offset = aim ? pick % (f.host.last - f.host.first + 1) : randomOffset;
          const src = useListedSource && f.sources.length > 0 ? f.sources[pick % f.sources.length]!.split("/")[0]! : randomSource;
          // Sources that tripped `limit` sit in the forward's ban table (PF adds them at run time).
          const banTable = Object.keys(ruleset.tables).find((t) => t.endsWith("_ban") && t.includes(`_${f.name}_`));
          if (banned && banTable) ruleset.tables[banTable].push(src);
          const dport = f.host.first + offset;
          const result = evaluate(ruleset, INTERFACES, { iface, proto, src, dst: INTERFACES[iface], dport });

          // The packet may land on a neighbouring forward's port: judge by the forward owning dport.
          const owner = spec.forwards.find((x) => dport >= x.host.first && dport <= x.host.last);
          const onInterface = owner !== undefined && (owner.interfaces ?? ["en0"]).includes(iface as InterfaceName);
          const protocolOk = owner !== undefined && (owner.protocol === "tcp+udp" || owner.protocol === proto);
          const portOk = owner !== undefined;
          const sourceOk = owner !== undefined && (owner.sources.length === 0 || owner.sources.some((c) => inCidr(c, src)));
          const isBanned = owner === f && banned && Boolean(banTable) && proto === "tcp";
          const forwarded = onInterface && protocolOk && sourceOk && !isBanned;

          expect(result.src).toBe(src);
          seen[forwarded ? "forwarded" : result.action === "block" ? "blocked" : "refused"]++;
          if (forwarded) {
            expect(result).toMatchObject({ action: "pass", dst: VM, dport: owner!.guest.first + (dport - owner!.host.first) });
          } else {
            expect(result.dst).toBe(INTERFACES[iface]);
            expect(result.dport).toBe(dport);
            // Untranslated traffic is left alone, except a banned source on its forward's port.
            expect(result.action).toBe(isBanned && onInterface && portOk ? "block" : "pass");
          }
        },
      ),
      { numRuns: 600 },
    );
    // Not vacuous: every outcome was exercised many times.
    expect(seen.forwarded).toBeGreaterThan(100);
    expect(seen.refused).toBeGreaterThan(100);
    expect(seen.blocked).toBeGreaterThan(5);
  });

  it("leaves traffic to other hosts and ports untouched", () => {
    fc.assert(
      fc.property(arbitraryAnnotation(), anyAddress, anyAddress, fc.integer({ min: 1, max: 9_999 }), ({ statements }, src, dst, dport) => {
        const spec = compileFile({ vm: "web", file: "web.yaml", text: yamlBlock(...statements) }).spec!;
        const emitted = emitAnchor([{ spec, address: VM as Ipv4Address }], { defaultInterfaces: ["en0" as InterfaceName] });
        if (!emitted.ok) throw new Error("emit failed");
        // Host ports start at 10000 in the arbitrary: port < 10000 matches no forward.
        const result = evaluate(loadAnchor(emitted.text), INTERFACES, { iface: "en0", proto: "tcp", src, dst, dport });
        expect(result).toMatchObject({ action: "pass", src, dst, dport, translatedBy: null });
      }),
      { numRuns: 200 },
    );
  });

  it("drops what is routed to the VM's address on its WAN interfaces, unless `allow routed`; other interfaces untouched", () => {
    const seen = { dropped: 0, allowed: 0, elsewhere: 0 };
    fc.assert(
      fc.property(
        arbitraryAnnotation(),
        fc.boolean(),
        fc.constantFrom(...Object.keys(INTERFACES)),
        fc.constantFrom("tcp" as const, "udp" as const),
        anyAddress,
        fc.integer({ min: 1, max: 65_535 }),
        ({ statements }, allowRouted, iface, proto, src, dport) => {
          const lines = allowRouted ? [...statements, "allow routed"] : statements;
          const spec = compileFile({ vm: "web", file: "web.yaml", text: yamlBlock(...lines) }).spec!;
          const emitted = emitAnchor([{ spec, address: VM as Ipv4Address }], { defaultInterfaces: ["en0" as InterfaceName] });
          if (!emitted.ok) throw new Error("emit failed");
          // A LAN host with a route to the VM's network via the Mac: the packet is for the VM itself.
          const result = evaluate(loadAnchor(emitted.text), INTERFACES, { iface, proto, src, dst: VM, dport });
          const wan = new Set(spec.forwards.flatMap((f) => f.interfaces ?? ["en0"]));
          const expected = wan.has(iface as InterfaceName) && !allowRouted ? "block" : "pass";
          seen[expected === "block" ? "dropped" : wan.has(iface as InterfaceName) ? "allowed" : "elsewhere"]++;
          expect(result).toMatchObject({ action: expected, dst: VM, dport, translatedBy: null });
        },
      ),
      { numRuns: 300 },
    );
    expect(seen.dropped).toBeGreaterThan(50);
    expect(seen.allowed).toBeGreaterThan(20);
    expect(seen.elsewhere).toBeGreaterThan(50);
  });

  it("the evaluator is not vacuous: it rejects rdr-to and applies first-match translation", () => {
    expect(() => loadAnchor("pass in on en0 proto tcp to port 2222 rdr-to 10.0.0.2 port 22\n")).toThrow(/syntax error/);
    const ruleset = loadAnchor(
      'rdr on en0 inet proto tcp from any to (en0) port 2222 tag "a" -> 10.0.0.1 port 22\nrdr on en0 inet proto tcp from any to (en0) port 2222 tag "b" -> 10.0.0.2 port 22\npass in quick on en0 inet proto tcp from any to 10.0.0.1 port 22 tagged "b" keep state\nblock drop in quick on en0 inet proto tcp from any to 10.0.0.1 port 22\n',
    );
    expect(evaluate(ruleset, INTERFACES, { iface: "en0", proto: "tcp", src: "1.2.3.4", dst: INTERFACES.en0, dport: 2222 })).toMatchObject({ dst: "10.0.0.1", tag: "a", action: "block" });
  });
});
