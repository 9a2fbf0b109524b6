// PF syntax smuggled into the annotation — in a name, an address, an interface, the instance
// name or an extra line — is a diagnostic, and never reaches the anchor text.
import { describe, expect, it } from "vitest";
import { parseIpv4Address } from "../../compiler/validate/addresses.js";
import { anchorFor, compile, ruleLines, yamlBlock, yamlList } from "./helpers.js";

const attempts: Array<[string, string, string]> = [
  // [what, lima.yaml, the code that stops it]
  ["rdr-to as an address", yamlBlock("expose web 80 as 8080 from rdr-to"), "LW201"],
  ["a table as an address", yamlBlock("expose web 80 as 8080 from <lw_web_ssh_ban>"), "LW201"],
  ["a list as an address", yamlBlock("expose web 80 as 8080 from {1.2.3.4}"), "LW201"],
  ["a quote after an address", yamlBlock('expose web 80 as 8080 from 1.2.3.4"'), "LW201"],
  ["a redirection after the addresses", yamlBlock("expose web 80 as 8080 from 1.2.3.4 -> 6.6.6.6 port 22"), "LW012"],
  ["rdr-to as an interface", yamlBlock("expose web 80 as 8080 on en0, rdr-to"), "LW401"],
  ["a dynamic address as an interface", yamlBlock("interface (en0)", "expose web 80 as 8080"), "LW401"],
  ["rdr-to glued to a name", yamlBlock("expose web_rdr-to 80 as 8080"), "LW301"],
  ["a quote in a name", yamlBlock('expose web"rdr-to 80 as 8080'), "LW010"],
  ["rdr-to after the host port", yamlBlock("expose web 80 as 8080 rdr-to 6.6.6.6"), "LW012"],
  ["state options after limit", yamlBlock("expose web 80 as 8080 limit 5/30s, overload <x> flush"), "LW010"],
  ["a PF rule as a statement", yamlBlock("pass in quick on en0 all"), "LW011"],
  ["a PF rule on an escaped new line", yamlList("expose web 80 as 8080\nrdr on en0 proto tcp to port 1 -> 6.6.6.6"), "LW011"],
  ["a PF rule after a comment sign in a quoted item", yamlList("expose web 80 as 8080 # ok\nrdr-to 6.6.6.6"), "LW011"],
];

describe("smuggled PF syntax", () => {
  it.each(attempts)("stops %s with a diagnostic", (_what, text, code) => {
    const result = compile(text);
    expect(result.diagnostics.map((d) => d.code)).toContain(code);
    expect(result.diagnostics.every((d) => d.line >= 1 && d.column >= 1 && d.file === "lima.yaml")).toBe(true);
    // No spec, so nothing can be emitted.
    expect(result.spec).toBeNull();
  });

  it.each(['web"', "web;rdr-to", "web rdr-to", "web\nrdr", "web{x}", "web:x", "web/x"])("refuses the instance name %j", (vm) => {
    const result = compile(yamlBlock("expose ssh as 2222"), vm);
    expect(result.diagnostics.map((d) => d.code)).toEqual(["LW304"]);
    expect(result.spec).toBeNull();
  });

  it.each(["192.168.105.2 port 22", "192.168.105.2/24", "(en0)", "192.168.105.02", "1.2.3", "any", ""])("refuses %j as a VM address", (text) => {
    expect(parseIpv4Address(text)).toBeNull();
  });

  it("lets the word `rdr-to` be a forward name only inside PF identifiers, where it is inert", () => {
    // `rdr-to` is a valid name ([a-z][a-z0-9-]*); it can only ever appear inside a table name,
    // a quoted tag or a quoted label, never as a keyword.
    const text = anchorFor(yamlBlock("expose rdr-to 80 as 8080 limit 5/30s"));
    const lines = ruleLines(text);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line.replace(/<lw_web_rdr-to_ban>|"lw_web_rdr-to"|"limawan:web:rdr-to"/g, "")).not.toContain("rdr-to");
    }
  });
});
