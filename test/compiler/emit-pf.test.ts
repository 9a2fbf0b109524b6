// The PF anchor text: order of sections, rule shapes (PF-FACTS.md §6–7), names and their
// lengths, and one deterministic text for several VMs.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { emitAnchor } from "../../compiler/emit-pf.js";
import type { InterfaceName, Ipv4Address, VmSpec } from "../../compiler/ir.js";
import { anyShortened, forwardIdentifiers, MAX_LABEL, MAX_TABLE_NAME, MAX_TAG_NAME, shorten } from "../../compiler/pf-names.js";
import { arbitraryForwardName, arbitraryVmName } from "../arbitraries.js";
import { anchorFor, anchorOf, FACTS, ruleLines, specOf, VM_ADDRESS, yamlBlock } from "./helpers.js";

const kind = (line: string) => (line.startsWith("table ") ? "table" : /^(no )?rdr /.test(line) ? "translation" : /^(pass|block) /.test(line) ? "filter" : "other");

describe("sections", () => {
  const text = anchorFor(
    yamlBlock("expose ssh 22 as 2222 limit 5/30s max 10", "expose admin 9090 as 9443 from 203.0.113.0/24", "expose dns 53/tcp+udp as 5353 on en0, en1", "expose api 9000-9010 as 19000-19010 log"),
  );

  it("writes tables, then every translation rule, then every filter rule (pfctl rejects other orders)", () => {
    const kinds = ruleLines(text).map(kind);
    expect(kinds).not.toContain("other");
    const order = ["table", "translation", "filter"];
    // Never a step back: once translation started, no table; once filtering started, no rdr.
    kinds.forEach((k, i) => i > 0 && expect(order.indexOf(k)).toBeGreaterThanOrEqual(order.indexOf(kinds[i - 1]!)));
    expect(new Set(kinds)).toEqual(new Set(order));
  });

  it("starts with a comment header naming each VM, its address and its number of forwards", () => {
    expect(text.split("\n").slice(0, 2)).toEqual(['# LimaWAN anchor "limawan": generated from x-limawan annotations, do not edit.', "# vm web 192.168.105.2: 4 forward(s)"]);
    expect(text.endsWith("\n")).toBe(true);
    expect(text).not.toMatch(/\n\n/);
  });

  it("never writes OpenBSD's rdr-to, nat rules or `rdr pass` (the filter must see every packet)", () => {
    expect(text).not.toMatch(/rdr-to|\bnat\b|rdr pass|binat/);
  });

  it("writes only the header for a VM with no forwards", () => {
    const empty = anchorFor("x-limawan: []\n", "idle");
    expect(empty).toBe('# LimaWAN anchor "limawan": generated from x-limawan annotations, do not edit.\n# vm idle 192.168.105.2: 0 forward(s)\n');
  });
});

describe("rules of one forward", () => {
  it("redirects a TCP port with a tag and passes it with flags S/SA and a label", () => {
    expect(ruleLines(anchorFor(yamlBlock("expose ssh as 2222")))).toEqual([
      'rdr on en0 inet proto tcp from any to (en0) port 2222 tag "lw_web_ssh" -> 192.168.105.2 port 22',
      'pass in quick on en0 inet proto tcp from any to 192.168.105.2 port 22 tagged "lw_web_ssh" flags S/SA keep state label "limawan:web:ssh"',
      "block drop in quick on en0 inet from any to 192.168.105.2",
    ]);
  });

  it("writes `flags S/SA` on TCP rules only: never on UDP, never on translation rules", () => {
    const lines = ruleLines(anchorFor(yamlBlock("expose game 27015/tcp+udp as 27015", "expose dns 53/udp as 5353")));
    const pass = lines.filter((l) => l.startsWith("pass "));
    expect(pass.filter((l) => l.includes("proto tcp")).every((l) => l.includes(" flags S/SA keep state"))).toBe(true);
    expect(pass.filter((l) => l.includes("proto udp"))).toEqual([
      'pass in quick on en0 inet proto udp from any to 192.168.105.2 port 27015 tagged "lw_web_game" keep state label "limawan:web:game"',
      'pass in quick on en0 inet proto udp from any to 192.168.105.2 port 53 tagged "lw_web_dns" keep state label "limawan:web:dns"',
    ]);
    expect(lines.filter((l) => l.includes("flags"))).toHaveLength(1);
  });

  it("splits tcp+udp into one rule per protocol, and multiplies by interfaces", () => {
    const lines = ruleLines(anchorFor(yamlBlock("expose game 27015/tcp+udp as 27015 on en0, en1")));
    expect(lines.filter((l) => l.startsWith("rdr ")).map((l) => l.slice(0, 30))).toEqual([
      "rdr on en0 inet proto tcp from",
      "rdr on en0 inet proto udp from",
      "rdr on en1 inet proto tcp from",
      "rdr on en1 inet proto udp from",
    ]);
    expect(lines.filter((l) => l.startsWith("pass "))).toHaveLength(4);
    expect(lines.filter((l) => l.startsWith("rdr on en1")).every((l) => l.includes("to (en1) port 27015"))).toBe(true);
  });

  it("maps a range with `port a:b -> VM port c:*` and passes `port c:d`", () => {
    const lines = ruleLines(anchorFor(yamlBlock("expose api 9000-9010 as 19000-19010")));
    expect(lines[0]).toBe('rdr on en0 inet proto tcp from any to (en0) port 19000:19010 tag "lw_web_api" -> 192.168.105.2 port 9000:*');
    expect(lines[1]).toContain(" to 192.168.105.2 port 9000:9010 tagged ");
  });

  it("declares the allow-list `const persist { … }` and redirects only its sources", () => {
    const lines = ruleLines(anchorFor(yamlBlock("expose admin 9090 as 9443 from 203.0.113.0/24, 198.51.100.7")));
    expect(lines).toEqual([
      "table <lw_web_admin_src> const persist { 203.0.113.0/24 198.51.100.7 }",
      'rdr on en0 inet proto tcp from <lw_web_admin_src> to (en0) port 9443 tag "lw_web_admin" -> 192.168.105.2 port 9090',
      'pass in quick on en0 inet proto tcp from any to 192.168.105.2 port 9090 tagged "lw_web_admin" flags S/SA keep state label "limawan:web:admin"',
      "block drop in quick on en0 inet from any to 192.168.105.2",
    ]);
  });

  it("declares the ban table `persist` without initialiser, so reloads keep the bans", () => {
    const lines = ruleLines(anchorFor(yamlBlock("expose ssh 22 as 2222 limit 5/30s max 10")));
    expect(lines).toEqual([
      "table <lw_web_ssh_ban> persist",
      "no rdr on en0 inet proto tcp from <lw_web_ssh_ban> to (en0) port 2222",
      'rdr on en0 inet proto tcp from any to (en0) port 2222 tag "lw_web_ssh" -> 192.168.105.2 port 22',
      "block drop in quick on en0 inet proto tcp from <lw_web_ssh_ban> to (en0) port 2222",
      'pass in quick on en0 inet proto tcp from any to 192.168.105.2 port 22 tagged "lw_web_ssh" flags S/SA keep state (max-src-conn 10, max-src-conn-rate 5/30, overload <lw_web_ssh_ban> flush global) label "limawan:web:ssh"',
      "block drop in quick on en0 inet from any to 192.168.105.2",
    ]);
  });

  it("has no ban table and no overload for `max` alone", () => {
    const lines = ruleLines(anchorFor(yamlBlock("expose api 9000 as 19000 max 50")));
    expect(lines.some((l) => l.startsWith("table") || l.includes("overload") || l.startsWith("no rdr"))).toBe(false);
    expect(lines[1]).toContain("flags S/SA keep state (max-src-conn 50) label");
  });

  it("counts only the TCP part of a tcp+udp forward, but blocks a banned source on both", () => {
    const lines = ruleLines(anchorFor(yamlBlock("expose game 27015/tcp+udp as 27015 limit 5/1m")));
    expect(lines.filter((l) => l.startsWith("no rdr") || (l.startsWith("block") && l.includes("_ban>")))).toEqual([
      "no rdr on en0 inet proto tcp from <lw_web_game_ban> to (en0) port 27015",
      "no rdr on en0 inet proto udp from <lw_web_game_ban> to (en0) port 27015",
      "block drop in quick on en0 inet proto tcp from <lw_web_game_ban> to (en0) port 27015",
      "block drop in quick on en0 inet proto udp from <lw_web_game_ban> to (en0) port 27015",
    ]);
    expect(lines.find((l) => l.startsWith("pass") && l.includes("proto tcp"))).toContain("(max-src-conn-rate 5/60, overload <lw_web_game_ban> flush global)");
    expect(lines.find((l) => l.startsWith("pass") && l.includes("proto udp"))).not.toMatch(/max-src|overload/);
  });

  it("logs on filter rules when asked (`pass in log`, `block drop in log`), never on rdr", () => {
    const lines = ruleLines(anchorFor(yamlBlock("expose ssh 22 as 2222 limit 5/30s log")));
    expect(lines.filter((l) => / log\b/.test(l)).map((l) => l.split(" quick")[0])).toEqual(["block drop in log", "pass in log"]);
    expect(ruleLines(anchorFor(yamlBlock("expose ssh 22 as 2222"))).some((l) => / log\b/.test(l))).toBe(false);
  });

  it("uses the host's default interfaces for forwards that name none", () => {
    const text = anchorFor(yamlBlock("expose web 80 as 8080", "expose ssh as 2222 on en7"), "web", { defaultInterfaces: ["en0" as InterfaceName, "en1" as InterfaceName] });
    const rdr = ruleLines(text).filter((l) => l.startsWith("rdr "));
    expect(rdr.map((l) => l.split(" ")[2])).toEqual(["en0", "en1", "en7"]);
  });
});

describe("PF names", () => {
  const longVm = "a-rather-long-instance-name-for-pf-1234567890abc"; // 48 characters, the maximum
  const longName = "a-rather-long-forward-name-12345"; // 32 characters, the maximum

  it("keeps tables within 31 and tags and labels within 63 characters in the emitted text", () => {
    expect(longVm).toHaveLength(48);
    expect(longName).toHaveLength(32);
    const text = anchorFor(yamlBlock(`expose ${longName} 22 as 2222 limit 5/30s from 192.0.2.0/24`), longVm);
    const tables = [...text.matchAll(/<([^>]+)>/g)].map((m) => m[1]!);
    const tags = [...text.matchAll(/tag(?:ged)? "([^"]+)"/g)].map((m) => m[1]!);
    const labels = [...text.matchAll(/label "([^"]+)"/g)].map((m) => m[1]!);
    expect(tables.length).toBeGreaterThan(0);
    expect(tags.length).toBeGreaterThan(0);
    expect(labels.length).toBeGreaterThan(0);
    for (const t of tables) expect(t.length).toBeLessThanOrEqual(MAX_TABLE_NAME);
    for (const t of tags) expect(t.length).toBeLessThanOrEqual(MAX_TAG_NAME);
    for (const l of labels) expect(l.length).toBeLessThanOrEqual(MAX_LABEL);
    expect([MAX_TABLE_NAME, MAX_TAG_NAME, MAX_LABEL]).toEqual([31, 63, 63]);
  });

  it("shortens as prefix, `_`, 8 hex digits of a hash of the full name, suffix — the same every time", () => {
    const ids = forwardIdentifiers(longVm as never, longName as never);
    const full = `lw_${longVm}_${longName}`;
    expect(ids.banTable).toMatch(new RegExp(`^${full.slice(0, 18)}_[0-9a-f]{8}_ban$`));
    expect(ids.sourceTable).toBe(ids.banTable.replace(/_ban$/, "_src"));
    expect(ids.tag).toMatch(new RegExp(`^${full.slice(0, 54)}_[0-9a-f]{8}$`));
    expect(ids.label).toMatch(new RegExp(`^${`limawan:${longVm}:${longName}`.slice(0, 54)}_[0-9a-f]{8}$`));
    expect(forwardIdentifiers(longVm as never, longName as never)).toEqual(ids);
    // A different full name gets a different hash, even with the same prefix.
    expect(forwardIdentifiers(longVm as never, `${longName.slice(0, -1)}6` as never).banTable).not.toBe(ids.banTable);
  });

  it("leaves names that fit alone", () => {
    expect(forwardIdentifiers("web" as never, "ssh" as never)).toEqual({ banTable: "lw_web_ssh_ban", sourceTable: "lw_web_ssh_src", tag: "lw_web_ssh", label: "limawan:web:ssh" });
    expect(shorten("x".repeat(27), "_ban", 31)).toBe(`${"x".repeat(27)}_ban`);
    expect(shorten("x".repeat(28), "_ban", 31)).toHaveLength(31);
  });

  it("knows from lengths alone exactly when a forward's names get shortened (the emitter's cue to check collisions)", () => {
    fc.assert(
      fc.property(arbitraryVmName, arbitraryForwardName, (vm, name) => {
        const ids = forwardIdentifiers(vm, name);
        const full = `lw_${vm}_${name}`;
        const untouched = ids.banTable === `${full}_ban` && ids.sourceTable === `${full}_src` && ids.tag === full && ids.label === `limawan:${vm}:${name}`;
        expect(anyShortened(vm, name)).toBe(!untouched);
      }),
      { numRuns: 2000 },
    );
  });

  it("compiles long names without a collision when none exists", () => {
    const text = anchorFor(yamlBlock(`expose ${longName} 22 as 2222 limit 5/30s`, `expose ${longName.slice(0, -1)}6 23 as 2223 limit 5/30s`), longVm);
    expect(new Set([...text.matchAll(/table <([^>]+)>/g)].map((m) => m[1])).size).toBe(2);
  });
});

describe("several VMs", () => {
  const alpha = specOf(yamlBlock("expose ssh as 2222", "expose web 80 as 8080"), "alpha");
  const beta = specOf(yamlBlock("expose ssh as 2223 limit 5/30s"), "beta");
  const gamma = specOf(yamlBlock("expose dns 53/udp as 5353"), "gamma");
  const placed = [
    { spec: alpha, address: "192.168.105.2" as Ipv4Address },
    { spec: beta, address: "192.168.105.3" as Ipv4Address },
    { spec: gamma, address: "192.168.105.4" as Ipv4Address },
  ];

  it("renders all VMs in one text, the same whatever order they come in", () => {
    const text = anchorOf(placed);
    for (const order of [[2, 1, 0], [1, 0, 2], [0, 2, 1]]) expect(anchorOf(order.map((i) => placed[i]!))).toBe(text);
    expect(text.split("\n").filter((l) => l.startsWith("# vm"))).toEqual([
      "# vm alpha 192.168.105.2: 2 forward(s)",
      "# vm beta 192.168.105.3: 1 forward(s)",
      "# vm gamma 192.168.105.4: 1 forward(s)",
    ]);
  });

  it("sends each VM's ports to its own address and keeps sections global", () => {
    const lines = ruleLines(anchorOf(placed));
    expect(lines.filter((l) => l.startsWith("rdr ")).map((l) => l.split("-> ")[1])).toEqual(["192.168.105.2 port 22", "192.168.105.2 port 80", "192.168.105.3 port 22", "192.168.105.4 port 53"]);
    expect(lines[0]).toBe("table <lw_beta_ssh_ban> persist");
    const kinds = lines.map(kind);
    expect(kinds.lastIndexOf("translation")).toBeLessThan(kinds.indexOf("filter"));
  });

  it("gives a VM's forwards the same names whatever other VMs are loaded", () => {
    const together = ruleLines(anchorOf(placed)).filter((l) => l.includes("_beta_") || l.includes(":beta:"));
    const alone = ruleLines(anchorOf([placed[1]!])).filter((l) => !l.startsWith("block drop in quick on en0 inet from any to")); // beta's routed block names no PF name
    expect(together).toEqual(alone);
  });
});

describe("the emitter's input is a VmSpec", () => {
  it("writes values straight from the spec (so only validated, branded values reach PF)", () => {
    const spec: VmSpec = {
      vm: "web" as VmSpec["vm"],
      file: "web/lima.yaml",
      forwards: [{ name: "x" as never, protocol: "udp", guest: { first: 1, last: 2 }, host: { first: 3, last: 4 }, sources: ["10.0.0.0/8" as never], interfaces: ["en3" as never], limit: null, max: null, log: true, router: null, line: 9 }],
      allowRouted: false,
    };
    expect(ruleLines(anchorOf([{ spec, address: VM_ADDRESS }], FACTS))).toEqual([
      "table <lw_web_x_src> const persist { 10.0.0.0/8 }",
      'rdr on en3 inet proto udp from <lw_web_x_src> to (en3) port 3:4 tag "lw_web_x" -> 192.168.105.2 port 1:*',
      'pass in log quick on en3 inet proto udp from any to 192.168.105.2 port 1:2 tagged "lw_web_x" keep state label "limawan:web:x"',
      "block drop in quick on en3 inet from any to 192.168.105.2",
    ]);
    expect(emitAnchor([{ spec, address: VM_ADDRESS }], FACTS).ok).toBe(true);
  });
});

describe("the compiled set: what the anchor installs, and where each rule came from", () => {
  const web = specOf(yamlBlock("interface en0, en1", "expose ssh 22 as 2222 limit 5/30s", "expose http 80 as 8080 from 203.0.113.0/24"), "web");
  const db = specOf(yamlBlock("expose postgres 5432 as 15432"), "db");
  const compiled = emitAnchor([{ spec: web, address: VM_ADDRESS }, { spec: db, address: "192.168.105.3" as Ipv4Address }], FACTS);
  if (!compiled.ok) throw new Error("expected the set to compile");

  it("lists every forward's PF names, VM by VM, with only the tables it declares", () => {
    expect(compiled.forwards.map((f) => [f.vm, f.forward, f.label, f.tag, f.banTable, f.sourceTable, f.line])).toEqual([
      ["db", "postgres", "limawan:db:postgres", "lw_db_postgres", null, null, 4],
      ["web", "ssh", "limawan:web:ssh", "lw_web_ssh", "lw_web_ssh_ban", null, 5],
      ["web", "http", "limawan:web:http", "lw_web_http", null, "lw_web_http_src", 6],
    ]);
  });

  it("ties every rule line to the forward it was written for, and no comment to any", () => {
    const lines = compiled.text.split("\n");
    expect(compiled.origins).toHaveLength(lines.length - 1); // the text ends with a newline
    lines.slice(0, -1).forEach((line, i) => {
      const origin = compiled.origins[i];
      // Comments and a VM's routed-traffic blocks belong to no one forward.
      if (line.startsWith("#") || /^block drop in quick on \S+ inet from any to /.test(line)) expect(origin).toBeNull();
      else expect(line.includes(origin!.tag) || line.includes(origin!.banTable ?? "-") || line.includes(origin!.sourceTable ?? "-")).toBe(true);
    });
    // The ban table, then per interface: no rdr, rdr, block, pass.
    expect(compiled.origins.filter((o) => o?.forward === "ssh")).toHaveLength(1 + 2 * 4);
  });

  it("ties each VM-wide rule (a routed-traffic block) to its VM, and nothing else", () => {
    const lines = compiled.text.split("\n");
    const routed = lines.flatMap((line, i) => (/^block drop in quick on \S+ inet from any to /.test(line) ? [i] : []));
    expect(routed.length).toBeGreaterThan(0);
    expect([...compiled.vmRules.keys()]).toEqual(routed);
    const addressOf: Record<string, string> = { web: VM_ADDRESS, db: "192.168.105.3" };
    for (const i of routed) expect(lines[i]!.endsWith(` to ${addressOf[compiled.vmRules.get(i)!]}`)).toBe(true);
  });
});

describe("traffic routed to a VM rather than redirected", () => {
  it("is dropped on each of the VM's WAN interfaces, after every pass rule; `allow routed` leaves it alone", () => {
    const lines = ruleLines(anchorFor(yamlBlock("expose web 80 as 8080", "expose ssh as 2222 on en7")));
    const blocks = lines.filter((l) => /^block drop in quick on \S+ inet from any to 192\.168\.105\.2$/.test(l));
    expect(blocks).toEqual(["block drop in quick on en0 inet from any to 192.168.105.2", "block drop in quick on en7 inet from any to 192.168.105.2"]);
    expect(lines.slice(-2)).toEqual(blocks); // after the quick passes, so redirected traffic is passed first
    expect(ruleLines(anchorFor(yamlBlock("allow routed", "expose web 80 as 8080"))).some((l) => l.includes("inet from any to"))).toBe(false);
  });
});
