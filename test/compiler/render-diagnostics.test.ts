// Diagnostics as people read them: header, code frame with a caret under the columns, hint.
import { describe, expect, it } from "vitest";
import { renderDiagnostic, renderDiagnostics, type Paint } from "../../compiler/render-diagnostics.js";
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
});
