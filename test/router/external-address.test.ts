// What the router's external address says (plugin/router/external-address.ts): behind another
// NAT when it is RFC 1918 or RFC 6598 space.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Ipv4Address } from "../../compiler/ir.js";
import { behindAnotherNat, classifyExternalAddress, externalAddressProblem } from "../../plugin/router/external-address.js";

const address = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".") as Ipv4Address;
const inNetwork = (n: number, network: number, prefix: number) => (n >>> (32 - prefix)) === (network >>> (32 - prefix));

describe("the router's external address", () => {
  it("is behind another NAT exactly in 10/8, 172.16/12, 192.168/16 (RFC 1918) and 100.64/10 (RFC 6598)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
        const rfc1918 = inNetwork(n, 0x0a000000, 8) || inNetwork(n, 0xac100000, 12) || inNetwork(n, 0xc0a80000, 16);
        const rfc6598 = inNetwork(n, 0x64400000, 10);
        const kind = classifyExternalAddress(address(n));
        expect(behindAnotherNat(kind)).toBe(rfc1918 || rfc6598);
        if (rfc6598) expect(kind).toBe("shared");
        if (rfc1918) expect(kind).toBe("private");
      }),
      { numRuns: 1000 },
    );
  });

  it("names the edges of each range", () => {
    const kinds = Object.fromEntries(
      ["10.0.0.0", "9.255.255.255", "172.15.255.255", "172.16.0.1", "172.31.255.255", "172.32.0.0", "192.168.1.1", "100.63.255.255", "100.64.0.0", "100.127.255.255", "100.128.0.0", "0.0.0.0", "127.0.0.1", "169.254.1.1", "224.0.0.1", "255.255.255.255", "203.0.113.7", "8.8.8.8"].map((a) => [a, classifyExternalAddress(a as Ipv4Address)]),
    );
    expect(kinds).toEqual({
      "10.0.0.0": "private",
      "9.255.255.255": "public",
      "172.15.255.255": "public",
      "172.16.0.1": "private",
      "172.31.255.255": "private",
      "172.32.0.0": "public",
      "192.168.1.1": "private",
      "100.63.255.255": "public",
      "100.64.0.0": "shared",
      "100.127.255.255": "shared",
      "100.128.0.0": "public",
      "0.0.0.0": "none",
      "127.0.0.1": "unusable",
      "169.254.1.1": "unusable",
      "224.0.0.1": "unusable",
      "255.255.255.255": "unusable",
      "203.0.113.7": "public",
      "8.8.8.8": "public",
    });
  });

  it("says plainly what a private or shared address means, and what to do", () => {
    expect(externalAddressProblem("203.0.113.7" as Ipv4Address, "public")).toBeNull();
    const cgnat = externalAddressProblem("100.64.250.247" as Ipv4Address, "shared")!;
    expect(cgnat.summary).toMatch(/100\.64\.250\.247 .*carrier-grade NAT.*cannot make the port reachable from the internet/);
    expect(cgnat.hint).toMatch(/Ask the ISP for a public IPv4 address/);
    expect(externalAddressProblem("192.168.0.2" as Ipv4Address, "private")!.hint).toMatch(/outer router/);
  });
});
