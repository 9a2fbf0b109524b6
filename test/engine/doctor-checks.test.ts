import { describe, expect, it } from "vitest";
import { compileFile } from "../../compiler/pipeline.js";
import { readPrintedRule } from "../../compiler/pf/printed-rule.js";
import { anchorsBefore, bridgedWan, limaForwardClashes, shadowingRules, skippedWan, wanInterfaces } from "../../plugin/engine/doctor-checks.js";
import { limaPortForwards } from "../../plugin/host/lima-yaml.js";
import { limaYaml } from "./fake-host.js";

const spec = compileFile({ vm: "web", file: "/lima/web/lima.yaml", text: limaYaml("expose ssh 22 as 2222", "expose games 27015-27020/udp as 37015-37020 on en1") }).spec!;

describe("anchorsBefore", () => {
  it("lists the anchors (wildcards as printed) and plain rules ahead of ours, never those after", () => {
    const printed = ['rdr-anchor "com.apple/*" all', 'rdr-anchor "vpn" all', "rdr on en1 proto tcp from any to any port = 80 -> 10.0.0.2 port 80", 'rdr-anchor "limawan" all', 'rdr-anchor "late" all'].join("\n");
    const found = anchorsBefore(printed, "rdr-anchor");
    expect({ before: found.before, rulesBefore: found.rulesBefore.map((r) => r.text) }).toEqual({ before: ["com.apple/*", "vpn"], rulesBefore: ["rdr on en1 proto tcp from any to any port = 80 -> 10.0.0.2 port 80"] });
  });
});

const rules = (lines: string[]) => lines.map(readPrintedRule);

describe("shadowingRules", () => {
  it("warns of an earlier rdr on a forwarded host port and an earlier quick rule on its guest port", () => {
    const found = shadowingRules([spec], "anchor \"vpn\"", rules(["rdr on en1 inet proto udp from any to any port 37018:37030 -> 10.0.0.9 port 1"]), rules(["pass in quick proto tcp from any to any port = 22"]));
    expect(found.map((f) => f.detail)).toEqual([
      expect.stringMatching(/^web\/ssh: anchor "vpn" has a quick rule/),
      expect.stringMatching(/^web\/games: anchor "vpn" redirects host port 37015-37020/),
    ]);
  });

  it("ignores rules on other ports and filter rules that are not quick", () => {
    expect(shadowingRules([spec], "x", rules(["nat on en0 from 10.0.0.0/8 to any -> (en0)", "rdr on en0 proto tcp from any to any port = 2223 -> 10.0.0.2 port 22"]), rules(["pass in proto tcp from any to any port = 22"]))).toEqual([]);
  });
});

describe("skippedWan", () => {
  it("fails each skipped interface a forward uses, its own or the default", () => {
    expect(skippedWan(new Set(["lo0", "en0", "en1"]), [spec], ["en0"]).map((f) => f.detail)).toEqual([
      expect.stringMatching(/^PF skips en0/),
      expect.stringMatching(/^PF skips en1/),
    ]);
    expect(skippedWan(new Set(["lo0"]), [spec], ["en0"])).toEqual([]);
  });
});

describe("Lima's own portForwards", () => {
  const forwards = limaPortForwards(`portForwards:
  - guestPort: 22
    hostPort: 2222
  - guestPortRange: [27000, 27100]
    hostIP: 0.0.0.0
    proto: tcp
  - guestPort: 443
  - guestSocket: /run/x.sock
    hostSocket: x.sock
  - guestPort: 8080
    ignore: true
`);

  it("fills in Lima's defaults and leaves out what binds no host port", () => {
    expect(forwards).toEqual([
      { hostIP: "127.0.0.1", hostPort: { first: 2222, last: 2222 }, proto: "any", line: 2 },
      { hostIP: "0.0.0.0", hostPort: { first: 27000, last: 27100 }, proto: "tcp", line: 4 },
      { hostIP: "127.0.0.1", hostPort: { first: 443, last: 443 }, proto: "any", line: 7 },
    ]);
  });

  it("clashes beyond loopback or below 1024 (Lima's pseudoloopback), on a shared protocol", () => {
    expect(limaForwardClashes(spec, forwards)).toEqual([]); // 2222 on loopback; 27000-27100 tcp vs a udp forward
    const https = compileFile({ vm: "web", file: "/lima/web/lima.yaml", text: limaYaml("expose https 443 as 443", "allow privileged") }).spec!;
    expect(limaForwardClashes(https, forwards).map((f) => f.detail)).toEqual([expect.stringMatching(/web\/https: .*line 7.* 443 on 0\.0\.0\.0 \(a privileged port\)/)]);
  });
});

describe("bridgedWan", () => {
  it("warns about each WAN interface a bridge holds, naming the bridge", () => {
    const wan = wanInterfaces([spec], ["en0"]);
    expect(wan).toEqual(["en0", "en1"]);
    const bridges = new Map([["bridge0", ["en2"]], ["bridge100", ["vmenet0", "en1"]]]);
    expect(bridgedWan(bridges, wan)).toEqual([expect.objectContaining({ severity: "warn", detail: expect.stringMatching(/^en1 is a member of bridge100 /) })]);
    expect(bridgedWan(new Map([["bridge100", ["vmenet0"]]]), wan)).toEqual([]);
  });
});
