// Diagnostics as people read them: header, code frame with a caret under the columns, hint.
import { describe, expect, it } from "vitest";
import { excerpt, printable, printableJson, printableLines } from "../../compiler/printable.js";
import { countDiagnostics, sortDiagnostics } from "../../compiler/diagnostic.js";
import { NO_PAINT, renderDiagnostic, renderDiagnostics, SHOWN_PER_FILE, SourceLines, type Paint } from "../../compiler/render-diagnostics.js";
import { compile, yamlBlock } from "./helpers.js";

describe("renderDiagnostic", () => {
  it("shows file:line:column, severity and code, the line and a caret under the offending text, then the hint", () => {
    const text = yamlBlock("expose ssh 22 as 70000");
    const [d] = compile(text, "web", "web/lima.yaml").diagnostics;
    expect(renderDiagnostic(d!, new Map([["web/lima.yaml", text]]))).toBe(
      [
        "web/lima.yaml:4:20: error LW101: host port 70000 is out of range",
        "    4 |   expose ssh 22 as 70000",
        "      |                    ^^^^^",
        "  hint: Ports are 1–65535.",
      ].join("\n"),
    );
  });

  it("keeps the frame of a 1 MB line short, with the caret still under the column", () => {
    const text = yamlBlock(`expose ssh 22 as 2222 from 1.2.3.4, ${"9".repeat(1_000_000)}`);
    const [d] = compile(text).diagnostics;
    const [, frame, caret] = renderDiagnostic(d!, new Map([["lima.yaml", text]])).split("\n");
    expect(frame!.length).toBeLessThan(140);
    expect(caret!.indexOf("^")).toBe(frame!.indexOf("expose"));
  });

  it("cuts a long line around a column far to the right, marking the cut", () => {
    const statement = `expose web 80 as 8080 # ${"x".repeat(400)}`;
    const text = yamlBlock(statement, `${" ".repeat(300)}exopse`);
    const d = { code: "LW011" as const, severity: "error" as const, message: "m", hint: "h", file: "f", line: 5, column: 303, endLine: 5, endColumn: 309 };
    const [, frame, caret] = renderDiagnostic(d, new Map([["f", text]])).split("\n");
    expect(frame).toContain("…");
    expect(frame!.slice(caret!.indexOf("^"), caret!.indexOf("^") + 6)).toBe("exopse");
  });

  it("renders without a frame when the file's text is unknown, and paints when asked", () => {
    const [d] = compile(yamlBlock("expose ssh 22 as 70000")).diagnostics;
    expect(renderDiagnostic(d!, new Map()).split("\n")).toHaveLength(2);
    const tags: Paint = { error: (s) => `<e>${s}</e>`, warning: (s) => `<w>${s}</w>`, dim: (s) => s, bold: (s) => `<b>${s}</b>` };
    expect(renderDiagnostic(d!, new Map(), tags)).toMatch(/^<b>lima\.yaml:4:20<\/b>: <e>error LW101<\/e>: /);
  });

  it("separates several diagnostics with a blank line", () => {
    const result = compile(yamlBlock("expose ssh 22 as 70000", "exopse x"));
    expect(renderDiagnostics(result.diagnostics, new Map()).split("\n\n")).toHaveLength(2);
  });

  it("escapes every control character from the user (file name, message, source line) and keeps the caret under the column", () => {
    const title = "\u001b]0;TITLE\u0007";
    const text = yamlBlock(`interface ${title}en0`, "expose ssh as 2222");
    const [d] = compile(text, "web", `web\u009b/lima.yaml`).diagnostics;
    const rendered = renderDiagnostic(d!, new Map([[d!.file, text]]));
    expect(rendered).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    const [header, frame, caret] = rendered.split("\n");
    expect(header).toMatch(/^web\\x9b\/lima\.yaml:4:13: error LW007: the annotation has the character U\+001B/);
    expect(frame).toBe("    4 |   interface \\x1b]0;TITLE\\x07en0");
    expect(caret!.indexOf("^")).toBe(frame!.indexOf("\\x1b"));
    expect(caret!.slice(caret!.indexOf("^"))).toBe("^".repeat("\\x1b".length));
    // A message built from a value escapes it too, for --json as well as for people.
    const invalid = { ...d!, code: "LW401" as const, message: `\`${excerpt(`${title}en0`)}\` is not an interface name`, column: 13, endColumn: 13 + title.length + 3 };
    const wide = renderDiagnostic(invalid, new Map([[d!.file, text]])).split("\n");
    expect(wide[0]).toContain("`\\x1b]0;TITLE\\x07en0` is not an interface name");
    expect(wide[2]!.slice(wide[2]!.indexOf("^"))).toBe("^".repeat("\\x1b]0;TITLE\\x07en0".length));
  });
});

describe("renderDiagnostics on a file of bad lines", () => {
  // 1 MiB of one-word lines: 262,000 unknown statements (LW011).
  const text = `x-limawan: |\n${"  x\n".repeat(262_000)}`;
  const result = compile(text, "web", "web/lima.yaml");

  it("shows a file's first 50 diagnostics with their frames, then how many more, LW008's count included", () => {
    expect(countDiagnostics(result.diagnostics)).toEqual({ errors: 262_000, warnings: 0 });
    const blocks = renderDiagnostics(sortDiagnostics(result.diagnostics), new Map([["web/lima.yaml", text]])).split("\n\n");
    expect(blocks).toHaveLength(SHOWN_PER_FILE + 1);
    expect(blocks[0]!.split("\n")).toEqual(["web/lima.yaml:2:3: error LW011: unknown statement `x`", "    2 |   x", "      |   ^", expect.stringMatching(/^  hint: /)]);
    expect(blocks[49]!.split("\n")[1]).toBe("   51 |   x");
    expect(blocks[50]).toBe("and 261,950 more in web/lima.yaml");
  });

  it("caps each file on its own, in the order given, and says nothing more for a file within the cap", () => {
    const few = compile(yamlBlock("exopse", "exopse"), "db", "db/lima.yaml").diagnostics;
    const blocks = renderDiagnostics([...few, ...result.diagnostics], new Map(), NO_PAINT, 3).split("\n\n");
    expect(blocks.map((b) => b.split(":")[0])).toEqual(["db/lima.yaml", "db/lima.yaml", "web/lima.yaml", "web/lima.yaml", "web/lima.yaml", "and 261,997 more in web/lima.yaml"]);
  });

  it("reads a line by its number as split at \\n would, without the \\r of a CRLF file", () => {
    const lines = new SourceLines("a\r\nb\n\nc");
    expect([1, 2, 3, 4, 5].map((n) => lines.line(n))).toEqual(["a", "b", "", "c", undefined]);
    expect(new SourceLines("").line(1)).toBe("");
  });
});

describe("printable", () => {
  it("escapes C0, DEL, C1, line separators and bidi controls; keeps all else", () => {
    expect(printable("a\u0000\t\n\u001b\u007f\u0085\u009b\u2028\u202eé€z")).toBe("a\\x00\\x09\\x0a\\x1b\\x7f\\x85\\x9b\\u2028\\u202eé€z");
    expect(printableLines("one\tline\ntwo\r\u001b[2J")).toBe("one\tline\ntwo\\x0d\\x1b[2J");
    expect(printable(printable("\u001b"))).toBe("\\x1b"); // once is enough: nothing left to escape
    expect(excerpt("x".repeat(50))).toBe(`${"x".repeat(40)}…`);
    const json = printableJson(JSON.stringify({ name: "a\u0085b\u2028c\u001b" }));
    expect(json).toBe('{"name":"a\\u0085b\\u2028c\\u001b"}');
    expect(JSON.parse(json)).toEqual({ name: "a\u0085b\u2028c\u001b" });
  });
});
