// Every statement form of the x-limawan DSL (docs/DESIGN.md "The DSL") and what it means in
// the validated IR.
import { describe, expect, it } from "vitest";
import type { Forward } from "../../compiler/ir.js";
import { compileFile, readAnnotation } from "../../compiler/pipeline.js";
import { compile, specOf, yamlBlock, yamlList } from "./helpers.js";

const only = (statements: string[]): Forward => {
  const forwards = specOf(yamlBlock(...statements)).forwards;
  expect(forwards).toHaveLength(1);
  return forwards[0]!;
};

const forward = (overrides: Partial<Forward>): Forward => ({
  name: "web" as Forward["name"],
  protocol: "tcp",
  guest: { first: 80, last: 80 },
  host: { first: 8080, last: 8080 },
  sources: [],
  interfaces: null,
  limit: null,
  max: null,
  log: false,
  router: null,
  line: 4,
  ...overrides,
});

describe("where the annotation lives", () => {
  it("reads a literal block scalar, one statement per line", () => {
    const spec = specOf(yamlBlock("expose web 80 as 8080", "expose ssh as 2222"));
    expect(spec.forwards.map((f) => [f.name, f.line])).toEqual([["web", 4], ["ssh", 5]]);
  });

  it("reads a YAML sequence of strings, plain, single- or double-quoted", () => {
    const text = "networks:\n  - lima: shared\nx-limawan:\n  - expose web 80 as 8080\n  - 'expose ssh as 2222'\n  - \"expose dns 53/udp as 5353\"\n";
    expect(specOf(text).forwards.map((f) => [f.name, f.line])).toEqual([["web", 4], ["ssh", 5], ["dns", 6]]);
    expect(specOf(yamlList("expose web 80 as 8080 # quoted, so the comment is the DSL's")).forwards).toHaveLength(1);
  });

  it("reads a one-line plain scalar as one statement", () => {
    expect(specOf("x-limawan: expose ssh as 2222\n").forwards.map((f) => f.name)).toEqual(["ssh"]);
  });

  it("ignores comments, comment-only lines and blank lines", () => {
    const spec = specOf(yamlBlock("# the VM's services", "", "expose web 80 as 8080   # public", "#expose ssh as 2222", "   "));
    expect(spec.forwards).toEqual([forward({ line: 6 })]);
  });

  it("treats a file without x-limawan as not annotated, and an empty one as exposing nothing", () => {
    const bare = compile("networks:\n  - lima: shared\n");
    expect(bare).toMatchObject({ annotated: false, spec: null, diagnostics: [] });
    for (const empty of ["x-limawan:\n", "x-limawan: \"\"\n", "x-limawan: []\n", "x-limawan: |\n  # nothing yet\n"]) {
      const result = compile(empty);
      expect(result).toMatchObject({ annotated: true, diagnostics: [] });
      expect(result.spec!.forwards).toEqual([]);
    }
  });

  it("finds x-limawan only at the top level", () => {
    expect(compile("vmOpts:\n  x-limawan: |\n    expose ssh as 70000\n")).toMatchObject({ annotated: false, diagnostics: [] });
  });
});

describe("expose", () => {
  it("maps a guest port onto a host port, TCP by default", () => {
    expect(only(["expose web 80 as 8080"])).toEqual(forward({}));
  });

  it("implies the guest port (and protocol) of a well-known service: `expose ssh as 2223` means 22", () => {
    expect(only(["expose ssh as 2223"])).toEqual(forward({ name: "ssh" as Forward["name"], guest: { first: 22, last: 22 }, host: { first: 2223, last: 2223 } }));
    expect(only(["expose dns as 5353"])).toMatchObject({ guest: { first: 53, last: 53 }, protocol: "tcp+udp" });
    expect(only(["expose wireguard as 51820"])).toMatchObject({ guest: { first: 51820, last: 51820 }, protocol: "udp" });
  });

  it("lets an explicit guest port or protocol override the service's", () => {
    expect(only(["expose ssh 2200 as 2222"])).toMatchObject({ guest: { first: 2200, last: 2200 }, protocol: "tcp" });
    expect(only(["expose dns as 5353/udp"])).toMatchObject({ guest: { first: 53, last: 53 }, protocol: "udp" });
  });

  it("derives a name from protocol and guest port when none is given (`tcp-22`)", () => {
    const spec = specOf(yamlBlock("expose 22 as 2222", "expose 53/udp as 5353", "expose 27015/tcp+udp as 27015", "expose 9000-9010 as 19000-19010"));
    expect(spec.forwards.map((f) => f.name)).toEqual(["tcp-22", "udp-53", "tcp-udp-27015", "tcp-9000-9010"]);
    const draft = readAnnotation({ vm: "web", file: "lima.yaml", text: yamlBlock("expose 22 as 2222", "expose ssh as 2223") }).draft!;
    expect(draft.forwards.map((f) => f.derivedName)).toEqual([true, false]);
  });

  it("maps a range onto a range of equal length", () => {
    expect(only(["expose api 9000-9010 as 19000-19010"])).toMatchObject({ guest: { first: 9000, last: 9010 }, host: { first: 19000, last: 19010 } });
    expect(only(["expose one 9000-9000 as 19000"])).toMatchObject({ guest: { first: 9000, last: 9000 }, host: { first: 19000, last: 19000 } });
  });

  it("reads /tcp, /udp and /tcp+udp (also written udp+tcp), on either side", () => {
    expect(only(["expose a 80/tcp as 8080"]).protocol).toBe("tcp");
    expect(only(["expose a 53/udp as 5353"]).protocol).toBe("udp");
    expect(only(["expose a 53 as 5353/udp"]).protocol).toBe("udp");
    expect(only(["expose a 27015/tcp+udp as 27015"]).protocol).toBe("tcp+udp");
    expect(only(["expose a 27015/udp+tcp as 27015/tcp+udp"]).protocol).toBe("tcp+udp");
    expect(only(["expose a 80/udp as 8080/udp"]).protocol).toBe("udp");
  });

  it("takes a list of sources with `from`, deduplicated, `any` meaning everyone", () => {
    expect(only(["expose web 80 as 8080 from 198.51.100.7, 198.51.100.0/28,203.0.113.0/24 , 198.51.100.7"]).sources).toEqual([
      "198.51.100.7",
      "198.51.100.0/28",
      "203.0.113.0/24",
    ]);
    expect(only(["expose web 80 as 8080 from 198.51.100.7/32"]).sources).toEqual(["198.51.100.7"]);
    expect(only(["expose web 80 as 8080 from any"]).sources).toEqual([]);
    expect(only(["expose web 80 as 8080 from 0.0.0.0/0"]).sources).toEqual(["0.0.0.0/0"]);
  });

  it("takes a list of WAN interfaces with `on`", () => {
    expect(only(["expose web 80 as 8080 on en0, en1,bridge100"]).interfaces).toEqual(["en0", "en1", "bridge100"]);
    expect(only(["expose web 80 as 8080 on en0, en0"]).interfaces).toEqual(["en0"]);
  });

  it("reads `limit N/30s`, `/1m`, `/2h` and a bare number of seconds", () => {
    expect(only(["expose ssh 22 as 2222 limit 5/30s"]).limit).toEqual({ count: 5, seconds: 30 });
    expect(only(["expose ssh 22 as 2222 limit 5/1m"]).limit).toEqual({ count: 5, seconds: 60 });
    expect(only(["expose ssh 22 as 2222 limit 5/2h"]).limit).toEqual({ count: 5, seconds: 7200 });
    expect(only(["expose ssh 22 as 2222 limit 5/45"]).limit).toEqual({ count: 5, seconds: 45 });
  });

  it("reads `max N` and `log`, with options in any order", () => {
    expect(only(["expose api 9000-9010 as 19000-19010 max 50 log"])).toMatchObject({ max: 50, log: true, limit: null });
    const all = only(["expose ssh 22 as 2222 log on en1 max 10 limit 5/30s from 203.0.113.0/24"]);
    expect(all).toEqual(
      forward({ name: "ssh" as Forward["name"], guest: { first: 22, last: 22 }, host: { first: 2222, last: 2222 }, sources: ["203.0.113.0/24" as Forward["sources"][0]], interfaces: ["en1" as never], limit: { count: 5, seconds: 30 }, max: 10, log: true }),
    );
  });

  it("reads `router` and `router upnp`, anywhere among the options; without it there is no router mapping", () => {
    expect(only(["expose ssh 22 as 2222 limit 5/30s router"]).router).toEqual({ upnp: false });
    expect(only(["expose http 80 as 8080 router upnp"]).router).toEqual({ upnp: true });
    expect(only(["expose http 80 as 8080 router\tupnp log # mapped"])).toMatchObject({ router: { upnp: true }, log: true });
    expect(only(["expose http 80 as 8080 router log from 203.0.113.0/24"])).toMatchObject({ router: { upnp: false }, log: true, sources: ["203.0.113.0/24"] });
    expect(only(["expose dns 53/udp as 5353 router"])).toMatchObject({ protocol: "udp", router: { upnp: false } });
    expect(only(["expose api 9000-9063 as 19000-19063 router"]).router).toEqual({ upnp: false });
    expect(only(["expose http 80 as 8080"]).router).toBeNull();
    // A forward may be named `router` or `upnp`: names come before `as`, options after.
    expect(only(["expose router 80 as 8080 router"])).toMatchObject({ name: "router", router: { upnp: false } });
    expect(only(["expose upnp 1900/udp as 11900"])).toMatchObject({ name: "upnp", router: null });
  });

  it("accepts tabs and extra spaces between words", () => {
    expect(only(["expose\tweb   80\tas  8080\t log"])).toMatchObject({ name: "web", log: true });
  });
});

describe("VM-wide statements", () => {
  it("`interface` sets the WAN interfaces of every forward without `on`", () => {
    const spec = specOf(yamlBlock("interface en0, en7", "expose web 80 as 8080", "expose ssh as 2222 on en1"));
    expect(spec.forwards.map((f) => f.interfaces)).toEqual([["en0", "en7"], ["en1"]]);
  });

  it("leaves interfaces to the host's default when no `interface` is given", () => {
    expect(only(["expose web 80 as 8080"]).interfaces).toBeNull();
  });

  it("`allow from` sets the sources of every forward without `from`", () => {
    const spec = specOf(yamlBlock("allow from 203.0.113.0/24", "expose web 80 as 8080", "expose ssh as 2222 from 198.51.100.7", "expose ftp 21 as 2121 from any"));
    expect(spec.forwards.map((f) => f.sources)).toEqual([["203.0.113.0/24"], ["198.51.100.7"], []]);
  });

  it("`allow privileged` opens host ports below 1024 for this VM only", () => {
    expect(only(["allow privileged", "expose http 80 as 80"]).host).toEqual({ first: 80, last: 80 });
    expect(compileFile({ vm: "other", file: "other.yaml", text: yamlBlock("expose http 80 as 80") }).spec).toBeNull();
  });

  it("applies VM-wide statements wherever they are written, even after the forwards", () => {
    expect(only(["expose web 80 as 8080", "interface en1", "allow from 192.0.2.1"])).toMatchObject({ interfaces: ["en1"], sources: ["192.0.2.1"] });
  });
});

describe("the example in DESIGN.md", () => {
  const example = [
    "interface en0                      # WAN interface(s); default: the default route's interface",
    "allow from 203.0.113.0/24          # default source allow-list for every expose (default: any)",
    "expose ssh 22 as 2222 limit 5/30s  # at most 5 new connections per source per 30 s, then blocked",
    "expose http 80 as 8080",
    "expose https 443 as 8443 from 198.51.100.7, 198.51.100.0/28",
    "expose dns 53/udp as 5353",
    "expose game 27015/tcp+udp as 27015",
    "expose api 9000-9010 as 19000-19010 max 50 log",
    "expose ssh as 2223                 # well-known name: guest port 22 implied",
  ];

  it("compiles every line; as one file, only the second `ssh` is refused", () => {
    // DESIGN.md lists forms, not one file: its last line reuses the name `ssh`.
    expect(compile(yamlBlock(...example)).diagnostics.map((d) => [d.code, d.line])).toEqual([["LW302", 12]]);
    const spec = specOf(yamlBlock(...example.slice(0, -1)));
    expect(spec.forwards.map((f) => [f.name, f.protocol, f.guest.first, f.host.first, f.sources.join(" "), f.interfaces?.join(" ")])).toEqual([
      ["ssh", "tcp", 22, 2222, "203.0.113.0/24", "en0"],
      ["http", "tcp", 80, 8080, "203.0.113.0/24", "en0"],
      ["https", "tcp", 443, 8443, "198.51.100.7 198.51.100.0/28", "en0"],
      ["dns", "udp", 53, 5353, "203.0.113.0/24", "en0"],
      ["game", "tcp+udp", 27015, 27015, "203.0.113.0/24", "en0"],
      ["api", "tcp", 9000, 19000, "203.0.113.0/24", "en0"],
    ]);
    expect(only([example[8]!]).guest).toEqual({ first: 22, last: 22 });
  });
});
