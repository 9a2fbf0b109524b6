// The token checks the validators are built on: addresses, interface, forward and VM names,
// and the "did you mean" suggestions.
import { describe, expect, it } from "vitest";
import { SERVICES } from "../../compiler/services.js";
import { closest, didYouMean } from "../../compiler/suggest.js";
import { checkSource, parseIpv4Address, vmAddressProblem, vmNetwork } from "../../compiler/validate/addresses.js";
import { specClashes } from "../../compiler/validate/clashes.js";
import { isInterfaceName } from "../../compiler/validate/interfaces.js";
import { isForwardName, isVmName } from "../../compiler/validate/names.js";
import { specOf, yamlBlock } from "./helpers.js";

describe("checkSource", () => {
  it.each([
    ["198.51.100.7", "198.51.100.7", false],
    ["198.51.100.7/32", "198.51.100.7", false],
    ["203.0.113.0/24", "203.0.113.0/24", false],
    ["203.0.113.77/24", "203.0.113.0/24", true],
    ["10.1.2.3/8", "10.0.0.0/8", true],
    ["1.2.3.4/0", "0.0.0.0/0", true],
    ["0.0.0.0/0", "0.0.0.0/0", false],
    ["255.255.255.255", "255.255.255.255", false],
  ])("reads %s as %s (host bits set: %s)", (text, cidr, hostBitsSet) => {
    expect(checkSource(text)).toEqual({ kind: "ok", cidr, hostBitsSet });
  });

  it.each(["2001:db8::/32", "::1", "::ffff:1.2.3.4", "fe80::1"])("recognises %s as IPv6", (text) => {
    expect(checkSource(text)).toEqual({ kind: "ipv6" });
  });

  it.each(["10.0.0.300", "1.2.3", "1.2.3.4.5", "01.2.3.4", "0x1.2.3.4", "1.2.3.4/33", "1.2.3.4/024", "1.2.3.4/+8", "1.2.3.4/-1", "1.2.3.4//8", "1.2.3.4/8/8", "1.2.3.4/", "rdr-to", "example.com", ""])(
    "refuses %j",
    (text) => {
      expect(checkSource(text)).toEqual({ kind: "invalid" });
    },
  );

  it("reads `any` as any", () => {
    expect(checkSource("any")).toEqual({ kind: "any" });
  });
});

describe("parseIpv4Address", () => {
  it("takes a dotted quad and nothing else", () => {
    expect(parseIpv4Address("192.168.105.2")).toBe("192.168.105.2");
    expect(parseIpv4Address("192.168.105.2/32")).toBeNull();
    expect(parseIpv4Address("fe80::1")).toBeNull();
  });
});

describe("names", () => {
  it("accepts BSD interface names and refuses others", () => {
    for (const name of ["en0", "en12", "bridge100", "utun3", "lo0"]) expect(isInterfaceName(name)).toBe(true);
    for (const name of ["en", "0en", "EN0", "en0)", "(en0)", "en1234", "abcdefghijklm0", "en0 ", "rdr-to"]) expect(isInterfaceName(name)).toBe(false);
  });

  it("accepts forward names `[a-z][a-z0-9-]*` of at most 32 characters", () => {
    for (const name of ["ssh", "a", "web-2", "a-", `a${"b".repeat(31)}`]) expect(isForwardName(name)).toBe(true);
    for (const name of ["", "Web", "2web", "-web", "web_2", "web.2", `a${"b".repeat(32)}`, "wéb"]) expect(isForwardName(name)).toBe(false);
  });

  it("accepts Lima instance names of at most 48 characters", () => {
    for (const name of ["default", "web", "Web_2.test-x", "0", "a".repeat(48)]) expect(isVmName(name)).toBe(true);
    for (const name of ["", "-web", ".web", "_web", "web!", "web x", "web:x", "a".repeat(49)]) expect(isVmName(name)).toBe(false);
  });
});

describe("did you mean", () => {
  it("suggests the closest keyword within a small edit distance, case-insensitively", () => {
    expect(closest("exopse", ["expose", "interface", "allow"])).toBe("expose");
    expect(closest("EXPOSE", ["expose", "interface", "allow"])).toBe("expose");
    expect(closest("interfce", ["expose", "interface", "allow"])).toBe("interface");
    expect(closest("postgresql", Object.keys(SERVICES))).toBe("postgres");
    expect(closest("frobnicate", ["expose", "interface", "allow"])).toBeNull();
  });

  it("lists the choices when nothing is close", () => {
    expect(didYouMean("zzz", ["from", "on"])).toBe("Expected one of: from, on.");
    expect(didYouMean("fro", ["from", "on"])).toBe("Did you mean `from`?");
  });
});

describe("specClashes (a VM's last applied rules against the VMs accepted since)", () => {
  const alpha = specOf(yamlBlock("expose web 80 as 9090", "expose dns 53/udp as 5353"), "alpha");
  it("finds a host port another VM now holds, per protocol", () => {
    expect(specClashes(alpha, [specOf(yamlBlock("expose api 3000 as 9090"), "beta")])).toBe(true);
    expect(specClashes(alpha, [specOf(yamlBlock("expose api 3000-3009 as 9085-9094"), "beta")])).toBe(true);
    expect(specClashes(alpha, [specOf(yamlBlock("expose dns 53/udp as 5353"), "beta")])).toBe(true);
  });
  it("lets the same port of the other protocol, and free ports, pass", () => {
    expect(specClashes(alpha, [specOf(yamlBlock("expose api 3000/udp as 9090", "expose dns 53/tcp as 5353"), "beta")])).toBe(false);
    expect(specClashes(alpha, [])).toBe(false);
  });
});

describe("vmAddressProblem (where PF may redirect WAN traffic)", () => {
  const problem = (a: string, byGuest: boolean) => vmAddressProblem(parseIpv4Address(a)!, byGuest);
  it("never to loopback, unspecified, link-local, multicast, broadcast or reserved addresses", () => {
    for (const a of ["127.0.0.1", "0.0.0.0", "169.254.1.1", "224.0.0.1", "255.255.255.255", "240.0.0.1"]) {
      expect(problem(a, false), a).not.toBeNull();
      expect(problem(a, true), a).not.toBeNull();
    }
  });
  it("to a private address either way; to other unicast only when a DHCP lease vouches for it", () => {
    for (const a of ["192.168.105.2", "10.0.0.7", "172.16.3.4"]) expect(problem(a, true), a).toBeNull();
    expect(problem("8.8.8.8", false)).toBeNull();
    expect(problem("8.8.8.8", true)).toMatch(/not a private address/);
    expect(problem("100.64.0.1", true)).toMatch(/not a private address/);
  });
});

describe("vmNetwork: a network of networks.yaml (the guest's address is checked in plugin/engine/guest-address.ts)", () => {
  const shared = vmNetwork("shared", "192.168.105.1", "255.255.255.0")!;
  it("reads gateway and netmask, and refuses what is not IPv4 as Lima writes it", () => {
    expect(shared).toEqual({ name: "shared", gateway: "192.168.105.1", prefix: 24 });
    expect(vmNetwork("host", "192.168.106.1")).toEqual({ name: "host", gateway: "192.168.106.1", prefix: 24 });
    expect(vmNetwork("x", "192.168.105.1", "255.0.255.0")).toBeNull();
    expect(vmNetwork("x", undefined)).toBeNull();
  });
});
