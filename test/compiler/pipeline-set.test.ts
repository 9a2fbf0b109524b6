// The set compile: a file on its own (standalone) and several files together (compileFiles).
import { describe, expect, it } from "vitest";
import { compileFile, compileFiles } from "../../compiler/pipeline.js";
import { yamlBlock } from "./helpers.js";

describe("a file's standalone spec (what status lists)", () => {
  it("is there when the only errors are clashes with other VMs", () => {
    const other = compileFile({ vm: "db", file: "db.yaml", text: yamlBlock("expose http 80 as 8080") }).spec!;
    const result = compileFile({ vm: "web", file: "web.yaml", text: yamlBlock("expose http 80 as 8080", "expose ssh 22 as 2222") }, [other]);
    expect(result.spec).toBeNull();
    expect(result.standalone?.forwards.map((f) => f.name)).toEqual(["http", "ssh"]);
  });

  it("is not there when the annotation itself could not be read (a folded block, a non-string item)", () => {
    const folded = compileFile({ vm: "web", file: "web.yaml", text: "x-limawan: >\n  expose http 80 as 8080\n" });
    const listWithNumber = compileFile({ vm: "web", file: "web.yaml", text: 'x-limawan:\n  - "expose http 80 as 8080"\n  - 42\n' });
    expect([folded.standalone, listWithNumber.standalone]).toEqual([null, null]);
    expect(listWithNumber.diagnostics.map((d) => d.code)).toEqual(["LW002"]);
  });
});

describe("several files together", () => {
  it("never checks a VM against its own earlier rules", () => {
    const before = compileFile({ vm: "web", file: "web.yaml", text: yamlBlock("expose http 80 as 8080") }).spec!;
    const [again] = compileFiles([{ vm: "web", file: "web.yaml", text: yamlBlock("expose http 80 as 8080") }], { kept: [before], held: [before] });
    expect(again!.diagnostics).toEqual([]);
  });

  it("without claims, checks each file against the kept VMs only", () => {
    const [a, b] = compileFiles([
      { vm: "a", file: "a.yaml", text: yamlBlock("expose http 80 as 8080") },
      { vm: "b", file: "b.yaml", text: yamlBlock("expose http 80 as 8080") },
    ], { claims: false });
    expect([a!.diagnostics, b!.diagnostics]).toEqual([[], []]);
  });
});
