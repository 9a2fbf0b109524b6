import { describe, expect, it } from "vitest";
import { compile, compileFiles, where, yamlBlock } from "./helpers.js";

describe("file and syntax diagnostics", () => {
  it("reports broken YAML with its position (LW001)", () => {
    const r = compile("networks:\n  - lima: shared\nx-limawan: [unclosed\n");
    expect(r.diagnostics[0]).toMatchObject({ code: "LW001", severity: "error", file: "lima.yaml", line: 4 });
    expect(r.spec).toBeNull();
  });

  it("refuses a non-string x-limawan: number, mapping, list with a non-string (LW002)", () => {
    expect(where(compile("x-limawan: 42\n"))).toEqual([["LW002", 1, 12]]);
    expect(where(compile("x-limawan:\n  expose: ssh\n"))).toEqual([["LW002", 2, 3]]);
    expect(where(compile("x-limawan:\n  - expose ssh as 2222\n  - 7\n"))).toEqual([["LW002", 3, 5]]);
  });

  it("refuses a folded block, which would join statements (LW004)", () => {
    expect(where(compile("x-limawan: >\n  expose ssh as 2222\n"))).toEqual([["LW004", 1, 12]]);
  });

  it("refuses a 1 MB line quickly, pointing at it (LW003)", () => {
    const started = Date.now();
    const r = compile(yamlBlock(`expose ssh 22 as 2222 from ${"1".repeat(1_000_000)}`));
    expect(where(r)).toEqual([["LW003", 4, 3]]);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("reports a syntax error at the exact column (LW010)", () => {
    expect(where(compile(yamlBlock("expose ssh 22 2222")))).toEqual([["LW010", 4, 17]]);
  });

  it("suggests the statement you meant (LW011)", () => {
    const r = compile(yamlBlock("exopse ssh 22 as 2222"));
    expect(where(r)).toEqual([["LW011", 4, 3]]);
    expect(r.diagnostics[0]!.hint).toBe("Did you mean `expose`?");
  });

  it("suggests the option you meant (LW012) and reports repeats (LW013, LW014)", () => {
    const r = compile(yamlBlock("expose ssh 22 as 2222 limt 5/30s", "expose web 80 as 8080 log log", "interface en0", "interface en1"));
    expect(where(r)).toEqual([["LW012", 4, 25], ["LW013", 5, 29], ["LW014", 7, 3]]);
    expect(r.diagnostics[0]!.hint).toBe("Did you mean `limit`?");
  });

  it("reports every problem of a file at once", () => {
    const r = compile(yamlBlock("expose ssh 22 as 70000", "exopse x", "expose web 80 as 8080 from 2001:db8::1"));
    expect(where(r).map((w) => w[0]).sort()).toEqual(["LW011", "LW101", "LW202"]);
  });

  it("maps positions in the list form too", () => {
    expect(where(compile("x-limawan:\n  - expose ssh 22 as 70000\n  - \"expose web 80 as 99999\"\n"))).toEqual([["LW101", 2, 22], ["LW101", 3, 23]]);
  });
});

describe("ports", () => {
  it("refuses ports outside 1–65535 (LW101)", () => {
    expect(where(compile(yamlBlock("expose ssh 0 as 2222")))).toEqual([["LW101", 4, 14]]);
    expect(where(compile(yamlBlock("expose ssh 22 as 70000")))).toEqual([["LW101", 4, 20]]);
  });

  it("refuses backwards ranges (LW102) and ranges of different lengths (LW103)", () => {
    expect(where(compile(yamlBlock("expose api 9010-9000 as 19000-19010")))).toEqual([["LW102", 4, 14]]);
    expect(where(compile(yamlBlock("expose api 9000-9010 as 19000-19005")))).toEqual([["LW103", 4, 27]]);
  });

  it("refuses overlapping host ports in one VM, counting tcp and udp apart (LW104)", () => {
    const r = compile(yamlBlock("expose a 80 as 8080", "expose b 81 as 8080", "expose c 53/udp as 8080", "expose d 9000-9010 as 18000-18010", "expose e 90 as 18005"));
    expect(where(r)).toEqual([["LW104", 5, 18], ["LW104", 8, 18]]);
    expect(r.diagnostics[0]!.message).toMatch(/already used by `a` on line 4/);
  });

  it("refuses privileged host ports unless allowed (LW105)", () => {
    expect(where(compile(yamlBlock("expose http 80 as 80")))).toEqual([["LW105", 4, 21]]);
    expect(compile(yamlBlock("allow privileged", "expose http 80 as 80")).spec).not.toBeNull();
  });

  it("refuses contradictory protocols (LW106) and a forward with no guest port (LW107)", () => {
    expect(where(compile(yamlBlock("expose dns 53/udp as 5353/tcp")))).toEqual([["LW106", 4, 29]]);
    expect(where(compile(yamlBlock("expose as 8080")))).toEqual([["LW107", 4, 3]]);
  });
});

describe("addresses, names, interfaces, limits", () => {
  it("refuses what is not an IPv4 address, including smuggled PF syntax (LW201)", () => {
    expect(where(compile(yamlBlock("expose web 80 as 8080 from 10.0.0.300, rdr-to")))).toEqual([["LW201", 4, 30], ["LW201", 4, 42]]);
  });

  it("recognises IPv6 and says it is not supported yet (LW202)", () => {
    const r = compile(yamlBlock("expose web 80 as 8080 from 2001:db8::/32"));
    expect(where(r)).toEqual([["LW202", 4, 30]]);
    expect(r.diagnostics[0]!.message).toMatch(/not supported yet/);
  });

  it("warns about host bits and uses the network (LW203)", () => {
    const r = compile(yamlBlock("expose web 80 as 8080 from 203.0.113.5/24"));
    expect(r.diagnostics.map((d) => [d.code, d.severity])).toEqual([["LW203", "warning"]]);
    expect(r.spec!.forwards[0]!.sources).toEqual(["203.0.113.0/24"]);
  });

  it("refuses `any` mixed with addresses (LW204)", () => {
    expect(where(compile(yamlBlock("expose web 80 as 8080 from any, 1.2.3.4")))).toEqual([["LW204", 4, 30]]);
  });

  it("refuses bad and duplicate names (LW301, LW302) and unknown services (LW303)", () => {
    expect(where(compile(yamlBlock("expose Web_1 80 as 8080")))).toEqual([["LW301", 4, 10]]);
    expect(where(compile(yamlBlock("expose web 80 as 8080", "expose web 81 as 8081")))).toEqual([["LW302", 5, 10]]);
    const unknown = compile(yamlBlock("expose sshh as 2222"));
    expect(where(unknown)).toEqual([["LW303", 4, 10]]);
    expect(unknown.diagnostics[0]!.hint).toMatch(/Did you mean `ssh`\?/);
  });

  it("refuses instance names PF identifiers cannot carry (LW304)", () => {
    expect(where(compile(yamlBlock("expose ssh as 2222"), "bad name!"))).toEqual([["LW304", 1, 1]]);
  });

  it("refuses bad interface names and lo0 (LW401)", () => {
    expect(where(compile(yamlBlock("expose ssh as 2222 on en0, rdr-to")))).toEqual([["LW401", 4, 30]]);
    expect(compile(yamlBlock("interface lo0", "expose ssh as 2222")).diagnostics[0]!.message).toMatch(/loopback/);
  });

  it("refuses a host port claimed by another VM, naming it and its line (LW501)", () => {
    const [a, b] = compileFiles([
      { vm: "a", file: "a/lima.yaml", text: yamlBlock("expose ssh as 2222") },
      { vm: "b", file: "b/lima.yaml", text: yamlBlock("expose http 80 as 8080", "expose api 2000-3000 as 2000-3000") },
    ]);
    expect(a!.spec).not.toBeNull();
    expect(where(b!)).toEqual([["LW501", 5, 27]]);
    expect(b!.diagnostics[0]!.message).toMatch(/claimed by VM `a` \(`ssh`, a\/lima\.yaml:4\)/);
  });

  it("refuses limit/max on UDP (LW601), bad values (LW602), warns on tcp+udp (LW603)", () => {
    expect(where(compile(yamlBlock("expose dns 53/udp as 5353 limit 5/30s")))).toEqual([["LW601", 4, 35]]);
    expect(where(compile(yamlBlock("expose ssh 22 as 2222 max 0")))).toEqual([["LW602", 4, 29]]);
    const both = compile(yamlBlock("expose game 27015/tcp+udp as 27015 max 5"));
    expect(both.diagnostics.map((d) => [d.code, d.severity])).toEqual([["LW603", "warning"]]);
  });
});

describe("PF names", () => {
  it("reports a shortened table name that equals another forward's full one (LW701)", async () => {
    const { forwardIdentifiers } = await import("../../compiler/pf-names.js");
    const { emitAnchor } = await import("../../compiler/emit-pf.js");
    // Shortened: prefix of `lw_alpha_<name>` + `_<hash>_ban`. VM `alpha_<…>` with a forward
    // named <hash> has exactly that as its own, unshortened ban table.
    let name = "";
    let hash = "";
    for (let i = 0; !/^[a-f]/.test(hash); i++) {
      name = `a-very-long-forward-name-${i}`;
      hash = /_([0-9a-f]{8})_ban$/.exec(forwardIdentifiers("alpha" as never, name as never).banTable)![1]!;
    }
    const vm2 = `lw_alpha_${name}`.slice(3, 18);
    const a = compile(yamlBlock(`expose ${name} 22 as 2222`), "alpha").spec!;
    const b = compile(yamlBlock(`expose ${hash} 22 as 2223`), vm2).spec!;
    expect(forwardIdentifiers(b.vm, b.forwards[0]!.name).banTable).toBe(forwardIdentifiers(a.vm, a.forwards[0]!.name).banTable);
    const emitted = emitAnchor([{ spec: a, address: "192.168.105.2" as never }, { spec: b, address: "192.168.105.3" as never }], { defaultInterfaces: ["en0" as never] });
    expect(emitted.ok).toBe(false);
    if (!emitted.ok) expect(emitted.diagnostics.map((d) => d.code)).toContain("LW701");
  });

  it("keeps table names within 31 and tags and labels within 63 characters, deterministically", async () => {
    const { forwardIdentifiers } = await import("../../compiler/pf-names.js");
    const ids = forwardIdentifiers("a-rather-long-instance-name-for-pf-1234567890" as never, "a-rather-long-forward-name-12345" as never);
    expect(ids.banTable.length).toBeLessThanOrEqual(31);
    expect(ids.sourceTable.length).toBeLessThanOrEqual(31);
    expect(ids.tag.length).toBeLessThanOrEqual(63);
    expect(ids.label.length).toBeLessThanOrEqual(63);
    expect(forwardIdentifiers("a-rather-long-instance-name-for-pf-1234567890" as never, "a-rather-long-forward-name-12345" as never)).toEqual(ids);
    expect(ids.banTable).not.toBe(ids.sourceTable);
  });
});
