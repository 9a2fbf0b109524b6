import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { addressForMac, normaliseMac, parseLeases } from "../../plugin/host/leases.js";
import { parseInstanceList, routableNetworks } from "../../plugin/host/lima.js";
import { parseLabels, withoutNoise } from "../../plugin/host/pfctl.js";
import { parseDefaultRoute, parseRouteGet } from "../../plugin/host/route.js";

const FIXTURES = new URL("../fixtures/lima/", import.meta.url);

describe("limactl list --json (fixtures/list-running.json)", () => {
  const instances = parseInstanceList(readFileSync(new URL("list-running.json", FIXTURES), "utf8"));

  it("reads JSON Lines with the singular `network` key", () => {
    expect(instances.map((i) => [i.name, i.status])).toEqual([["db", "Stopped"], ["web", "Running"]]);
    expect(instances[1]!.network[0]!.macAddress).toBe("52:55:55:3a:7c:e1");
    expect(instances[1]!.hostAgentPID).toBe(48213);
  });

  it("counts only vmnet-style networks as routable", () => {
    expect(routableNetworks(instances[1]!)).toHaveLength(1);
    expect(routableNetworks({ ...instances[1]!, network: [{ lima: "user-v2" }] })).toHaveLength(0);
  });
});

describe("dhcpd_leases", () => {
  const leases = `{
\tname=lima-web
\tip_address=192.168.105.3
\thw_address=1,52:55:55:3a:7c:e1
\tidentifier=1,52:55:55:3a:7c:e1
\tlease=0x66c7a100
}
{
\tname=lima-web
\tip_address=192.168.105.7
\thw_address=1,52:55:55:3a:7c:e1
\tidentifier=1,52:55:55:3a:7c:e1
\tlease=0x66c7a1b2
}
{
\tname=lima-db
\tip_address=192.168.105.4
\thw_address=1,52:55:55:a:7:e
\tlease=0x66c7a1b2
}
`;

  it("matches MACs written without leading zeros and picks the newest lease", () => {
    const parsed = parseLeases(leases);
    expect(addressForMac(parsed, "52:55:55:3a:7c:e1")).toBe("192.168.105.7");
    expect(addressForMac(parsed, "52:55:55:0a:07:0e")).toBe("192.168.105.4");
    expect(addressForMac(parsed, "52:55:55:00:00:01")).toBeNull();
    expect(normaliseMac("not a mac")).toBeNull();
  });
});

describe("tool outputs", () => {
  it("reads the default route's interface from `route -n get default`", () => {
    expect(parseRouteGet("   route to: default\ndestination: default\n    gateway: 192.168.1.1\n  interface: en7\n      flags: <UP,GATEWAY>\n")).toBe("en7");
    expect(parseRouteGet("route: writing to routing socket: not in table")).toBeNull();
    // The router port mappings are asked of: an IPv4 gateway, or none on a point-to-point link (a VPN's utun).
    expect(parseDefaultRoute("   route to: default\ndestination: default\n    gateway: 192.168.1.1\n  interface: en7\n")).toEqual({ interface: "en7", gateway: "192.168.1.1" });
    expect(parseDefaultRoute("   route to: default\ndestination: default\n    gateway: link#22\n  interface: utun4\n")).toEqual({ interface: "utun4", gateway: null });
    expect(parseDefaultRoute("route: writing to routing socket: not in table")).toBeNull();
  });

  it("sums label counters over the rules that share a label", () => {
    const labels = parseLabels("limawan:web:dns 10 4 400 2 200 2 200 1\nlimawan:web:dns 5 6 600 3 300 3 300 2\nlimawan:web:ssh 1 2 3 1 1 1 2\n");
    expect(labels.get("limawan:web:dns")).toEqual({ evaluations: 15, packets: 10, bytes: 1000, states: 3 });
    expect(labels.get("limawan:web:ssh")).toEqual({ evaluations: 1, packets: 2, bytes: 3, states: null });
  });

  it("drops macOS pfctl's ALTQ noise but keeps real errors", () => {
    expect(withoutNoise("No ALTQ support in kernel\nALTQ related functions disabled\nstdin:3: syntax error\n")).toBe("stdin:3: syntax error");
  });
});
