// Every diagnostic the compiler can produce: its code, severity, file, line and column in
// lima.yaml (not in the extracted annotation text), and the message or hint a user relies on.
import { describe, expect, it } from "vitest";
import { CODES, countDiagnostics, MAX_DIAGNOSTICS_PER_FILE, type Diagnostic } from "../../compiler/diagnostic.js";
import { emitAnchor } from "../../compiler/emit-pf.js";
import type { Ipv4Address } from "../../compiler/ir.js";
import { forwardIdentifiers } from "../../compiler/pf-names.js";
import { banTableTwin } from "../ban-table-twin.js";
import { compileFile, compileFiles } from "../../compiler/pipeline.js";
import { FACTS, specOf, yamlBlock, yamlList } from "./helpers.js";

const FILE = "vms/web/lima.yaml";
const HEADER = "networks:\n  - lima: shared\n";

/** Column of the `nth` occurrence of `token` in a statement written by yamlBlock (2-space indent). */
function col(statement: string, token: string, nth = 0): number {
  let index = -1;
  for (let i = 0; i <= nth; i++) {
    index = statement.indexOf(token, index + 1);
    if (index < 0) throw new Error(`\`${token}\` not in \`${statement}\``);
  }
  return 3 + index;
}

interface Expected { code: string; severity?: "error" | "warning"; line: number; column: number; endColumn?: number; message?: RegExp; hint?: RegExp }

function check(diagnostics: readonly Diagnostic[], expected: readonly Expected[], file = FILE): void {
  expect(diagnostics.map((d) => [d.code, d.line, d.column])).toEqual(expected.map((e) => [e.code, e.line, e.column]));
  diagnostics.forEach((d, i) => {
    const e = expected[i]!;
    expect(d.severity).toBe(e.severity ?? "error");
    expect(d.file).toBe(file);
    expect(d.message.length).toBeGreaterThan(0);
    expect(d.hint.length).toBeGreaterThan(0);
    if (e.endColumn !== undefined) expect(d.endColumn).toBe(e.endColumn);
    if (e.message) expect(d.message).toMatch(e.message);
    if (e.hint) expect(d.hint).toMatch(e.hint);
  });
}

const diagnosticsOf = (text: string, vm = "web") => compileFile({ vm, file: FILE, text });

/** Compile statements (block form) and check every diagnostic; errors also mean no spec. */
function expectDiagnostics(statements: string[], expected: Expected[], vm = "web") {
  const result = diagnosticsOf(yamlBlock(...statements), vm);
  check(result.diagnostics, expected);
  if (expected.some((e) => (e.severity ?? "error") === "error")) expect(result.spec).toBeNull();
  else expect(result.spec).not.toBeNull();
  return result;
}

/** Codes exercised below; the last test checks that this covers every code in CODES. */
const covered = new Set<string>();
function expectCode(code: string, statements: string[], expected: Expected[], vm?: string) {
  covered.add(code);
  return expectDiagnostics(statements, expected, vm);
}

describe("LW0xx: the file and the annotation's syntax", () => {
  it("reports YAML that does not parse, at the YAML library's position (LW001)", () => {
    covered.add(CODES.YAML_SYNTAX);
    check(diagnosticsOf(`${HEADER}x-limawan: [unclosed\n`).diagnostics, [{ code: "LW001", line: 4, column: 1, message: /not valid YAML: Flow sequence/ }]);
    check(diagnosticsOf("x-limawan: |\n  expose ssh as 2222\nmemory: 4GiB\nmemory: 8GiB\n").diagnostics, [{ code: "LW001", line: 4, column: 1, message: /Map keys must be unique/ }]);
    expect(diagnosticsOf(`${HEADER}x-limawan: [unclosed\n`).spec).toBeNull();
  });

  it("reports an alias to no anchor as invalid YAML, and follows one that has an anchor (LW001)", () => {
    check(diagnosticsOf("x-limawan: *exposed\n").diagnostics, [{ code: "LW001", line: 1, column: 12, message: /alias `\*exposed` has no anchor/ }]);
    const aliased = diagnosticsOf("base: &exposed |\n  expose ssh as 70000\nx-limawan: *exposed\n");
    // The diagnostic points where the text is: inside the anchored block.
    check(aliased.diagnostics, [{ code: "LW101", line: 2, column: 17 }]);
    const item = diagnosticsOf("ssh: &ssh expose ssh as 2222\nx-limawan:\n  - *ssh\n  - expose web 80 as 8080\n");
    expect(item.diagnostics).toEqual([]);
    expect(item.spec!.forwards.map((f) => f.name)).toEqual(["ssh", "web"]);
    // In a list too: the alias is reported as YAML, the other items still read.
    const dangling = diagnosticsOf("x-limawan:\n  - *nope\n  - expose web 80 as 70000\n");
    check(dangling.diagnostics, [{ code: "LW001", line: 2, column: 5, message: /alias `\*nope` has no anchor/ }, { code: "LW101", line: 3, column: 22 }]);
  });

  it("refuses an x-limawan that is a number, a boolean or a mapping (LW002)", () => {
    covered.add(CODES.ANNOTATION_TYPE);
    check(diagnosticsOf("x-limawan: 42\n").diagnostics, [{ code: "LW002", line: 1, column: 12, endColumn: 14, message: /must be text, not a number/ }]);
    check(diagnosticsOf("x-limawan: true\n").diagnostics, [{ code: "LW002", line: 1, column: 12, message: /not a boolean/ }]);
    check(diagnosticsOf(`${HEADER}x-limawan:\n  expose: ssh\n`).diagnostics, [{ code: "LW002", line: 4, column: 3, message: /not a mapping/, hint: /x-limawan: \|/ }]);
  });

  it("refuses list items that are not strings, each at its own position, keeping the others (LW002)", () => {
    const result = diagnosticsOf(`${HEADER}x-limawan:\n  - expose ssh as 70000\n  - 7\n  - {expose: web}\n  - [a, b]\n`);
    check(result.diagnostics, [
      { code: "LW002", line: 5, column: 5, endColumn: 6, message: /each item of x-limawan must be a string statement/ },
      { code: "LW002", line: 6, column: 5 },
      { code: "LW002", line: 7, column: 5 },
      { code: "LW101", line: 4, column: 5 + "expose ssh as ".length },
    ]);
  });

  // Quickly: the line is refused before the parser sees it (a generous timeout catches a
  // quadratic path, which would take minutes on a 1 MB line; the bench measures speed).
  it("refuses a 1 MB line quickly, pointing at its start (LW003)", { timeout: 5000 }, () => {
    covered.add(CODES.LINE_TOO_LONG);
    const huge = `expose ssh 22 as 2222 from ${"1".repeat(1_000_000)}`;
    const block = diagnosticsOf(yamlBlock("expose http 80 as 8080", huge));
    const list = diagnosticsOf(yamlList(huge));
    check(block.diagnostics, [{ code: "LW003", line: 5, column: 3, endColumn: 1003, message: /1000027 characters long \(at most 1000\)/ }]);
    check(list.diagnostics, [{ code: "LW003", line: 4, column: 6 }]);
  });

  it("takes a line of exactly 1000 characters and refuses 1001 (LW003)", () => {
    const statement = (length: number) => `expose ssh 22 as 2222 #${"x".repeat(length - 23)}`;
    expect(statement(1000)).toHaveLength(1000);
    expect(diagnosticsOf(yamlBlock(statement(1000))).diagnostics).toEqual([]);
    check(diagnosticsOf(yamlBlock(statement(1001))).diagnostics, [{ code: "LW003", line: 4, column: 3 }]);
  });

  it("refuses a folded block, which would join statements into one (LW004)", () => {
    covered.add(CODES.FOLDED_SCALAR);
    for (const header of [">", ">-", ">+"]) {
      check(diagnosticsOf(`${HEADER}x-limawan: ${header}\n  expose ssh as 2222\n  expose http 80 as 8080\n`).diagnostics, [
        { code: "LW004", line: 3, column: 12, message: /folded block/, hint: /x-limawan: \|/ },
      ]);
    }
  });

  it("refuses a lima.yaml over 1 MiB before parsing it, and reads one just under (LW005)", () => {
    covered.add(CODES.FILE_TOO_LARGE);
    const filler = (bytes: number) => `${HEADER}x-limawan: |\n  expose ssh as 2222\n# ${"x".repeat(bytes)}\n`;
    const base = filler(0).length;
    check(diagnosticsOf(filler(1024 * 1024 - base + 1)).diagnostics, [{ code: "LW005", line: 1, column: 1, message: /1,048,577 bytes; LimaWAN reads files up to 1,048,576 bytes/, hint: /LimaWAN's own limit/ }]);
    expect(diagnosticsOf(filler(1024 * 1024 - base)).diagnostics).toEqual([]);
    // Bytes, not characters: 2-byte characters count twice.
    check(diagnosticsOf(filler(0).replace("# ", `# ${"é".repeat(524_288)}`)).diagnostics, [{ code: "LW005", line: 1, column: 1 }]);
  });

  it("refuses nesting deeper than 100 levels where it crosses the limit, with LimaWAN's own limit as the hint (LW006)", () => {
    covered.add(CODES.NESTING_TOO_DEEP);
    // Lima (yaml.v3) reads 10,000 levels: the hint must not say limactl refuses the file.
    const compact = (levels: number) => `junk:\n${"- ".repeat(levels - 1)}x\nx-limawan: |\n  expose ssh as 2222\n`;
    const deep = diagnosticsOf(compact(5001));
    check(deep.diagnostics, [{ code: "LW006", line: 2, column: 199, message: /more than 100 levels/, hint: /LimaWAN's own limit \(Lima accepts deeper files\)/ }]);
    expect(deep.diagnostics[0]!.hint).not.toMatch(/limactl would refuse/);
    expect(diagnosticsOf(compact(100)).spec).not.toBeNull();
    check(diagnosticsOf(compact(101)).diagnostics, [{ code: "LW006", line: 2, column: 199 }]);
    // Flow brackets and indentation count the same way.
    check(diagnosticsOf(`junk: ${"[".repeat(150)}${"]".repeat(150)}\n`).diagnostics, [{ code: "LW006", line: 1, column: 7 + 99 }]);
    const indented = `junk:\n${Array.from({ length: 150 }, (_, i) => `${" ".repeat(i)}- `).join("\n")}x\n`;
    check(diagnosticsOf(indented).diagnostics, [{ code: "LW006", line: 101, column: 100 }]);
  });

  it("refuses any character but printable ASCII and tab in the annotation, comments included, at its column (LW007)", () => {
    covered.add(CODES.NOT_PLAIN_ASCII);
    // U+0085 is a comment character to the yaml library, a line break to Lima's libyaml reader.
    const smuggled = 'expose web 80 as 8080 # \u0085mounts: [{location: "/", writable: true}]';
    check(diagnosticsOf(yamlBlock("expose ssh as 2222", smuggled)).diagnostics, [
      { code: "LW007", line: 5, column: col(smuggled, "\u0085"), endColumn: col(smuggled, "\u0085") + 1, message: /character U\+0085, which is not printable ASCII/, hint: /line breaks/ },
    ]);
    for (const character of ["\u2028", "\u2029", "\u001b", "\u007f", "\u00e9", "\u{1F600}"]) {
      const result = diagnosticsOf(yamlBlock(`expose web 80 as 8080 # ${character}`));
      check(result.diagnostics, [{ code: "LW007", line: 4, column: 3 + 24 }]);
    }
    // In a quoted list item the escape is one character in the value: the string is pointed at.
    check(diagnosticsOf(`${HEADER}x-limawan:\n  - "expose web 80 as 8080 \\x85"\n`).diagnostics, [{ code: "LW007", line: 4, column: 5 }]);
    expect(diagnosticsOf(yamlBlock("expose web 80 as 8080\t# tabs are fine")).diagnostics).toEqual([]);
    // Elsewhere in lima.yaml, text is Lima's business.
    expect(diagnosticsOf(`message: "Grüße"\n${yamlBlock("expose web 80 as 8080")}`).diagnostics).toEqual([]);
  });

  it("lists the first 1,000 problems of a file and counts the rest in one LW008 at the first left out", () => {
    covered.add(CODES.TOO_MANY_DIAGNOSTICS);
    // Unknown words, syntax errors (parsed again alone only while listed) and warnings alike.
    const statements = [
      ...Array.from({ length: 600 }, () => "exopse"),
      ...Array.from({ length: 600 }, () => "expose 22 as"),
      ...Array.from({ length: 300 }, (_, i) => `expose f${i} ${1000 + i} as ${20000 + i} from 10.0.0.1/8`),
    ];
    const result = compileFile({ vm: "web", file: FILE, text: yamlBlock(...statements) });
    expect(result.diagnostics).toHaveLength(MAX_DIAGNOSTICS_PER_FILE + 1);
    expect(result.diagnostics.slice(0, 600).every((d) => d.code === CODES.UNKNOWN_STATEMENT)).toBe(true);
    expect(result.diagnostics.slice(600, 1000).every((d) => d.code === CODES.SYNTAX && /Expected/.test(d.message))).toBe(true);
    const summary = result.diagnostics.at(-1)!;
    check([summary], [{ code: "LW008", line: 4 + 1000, column: 3, message: /^500 more problem\(s\) in this file are not listed, the first of them here \(200 error\(s\), 300 warning\(s\)\)$/, hint: /first 1,000 problems/ }]);
    expect(summary).toMatchObject({ severity: "error", omitted: { errors: 200, warnings: 300 } });
    expect(countDiagnostics(result.diagnostics)).toEqual({ errors: 1200, warnings: 300 });
    expect(result.spec).toBeNull();
    // Warnings past the list leave a file valid: its LW008 is a warning too.
    const warned = compileFile({ vm: "web", file: FILE, text: yamlBlock(...Array.from({ length: 1002 }, (_, i) => `expose f${i} ${1000 + i} as ${20000 + i} from 10.0.0.1/8`)) });
    expect(warned.diagnostics.at(-1)).toMatchObject({ code: "LW008", severity: "warning", omitted: { errors: 0, warnings: 2 } });
    expect(warned.spec?.forwards).toHaveLength(1002);
  });

  it("reports a syntax error at the column where the grammar gave up (LW010)", () => {
    expectCode(CODES.SYNTAX, ["expose ssh 22 2222"], [{ code: "LW010", line: 4, column: col("expose ssh 22 2222", "2222"), message: /Expected "as"/ }]);
    expectDiagnostics(["expose"], [{ code: "LW010", line: 4, column: 9, message: /but the line ends here$/, hint: /expose \[NAME\] \[GUEST\] as HOST/ }]);
    expectDiagnostics(["allow everyone"], [{ code: "LW010", line: 4, column: col("allow everyone", "everyone") }]);
    expectDiagnostics(["expose ssh 22 as 2222 limit 5/"], [{ code: "LW010", line: 4, column: col("expose ssh 22 as 2222 limit 5/", "5/") + 2, message: /Expected a number/ }]);
  });

  it("points a syntax error inside a quoted list item at the exact column", () => {
    // `"` opens the string on column 5, so the text starts on column 6.
    check(diagnosticsOf(yamlList("expose ssh 22 2222")).diagnostics, [{ code: "LW010", line: 4, column: 6 + "expose ssh 22 ".length }]);
  });

  it("points at the whole string when escapes moved the characters (LW010 in an escaped item)", () => {
    // "\x41" is one character in the value but four in the file: columns inside are unknowable.
    check(diagnosticsOf(`${HEADER}x-limawan:\n  - "expose \\x41 22 2222"\n`).diagnostics, [{ code: "LW010", line: 4, column: 5 }]);
  });

  it("names an unknown statement and suggests the one meant (LW011)", () => {
    expectCode(CODES.UNKNOWN_STATEMENT, ["exopse ssh 22 as 2222"], [{ code: "LW011", line: 4, column: 3, endColumn: 9, message: /unknown statement `exopse`/, hint: /^Did you mean `expose`\?$/ }]);
    expectDiagnostics(["Interface en0"], [{ code: "LW011", line: 4, column: 3, hint: /Did you mean `interface`\?/ }]);
    expectDiagnostics(["frobnicate now"], [{ code: "LW011", line: 4, column: 3, hint: /^Expected one of: expose, interface, allow\.$/ }]);
  });

  it("names an unknown option and suggests the one meant (LW012)", () => {
    const statement = "expose ssh 22 as 2222 limt 5/30s";
    expectCode(CODES.UNKNOWN_OPTION, [statement], [{ code: "LW012", line: 4, column: col(statement, "limt"), endColumn: col(statement, "limt") + 4, message: /unknown option `limt`/, hint: /^Did you mean `limit`\?$/ }]);
    expectDiagnostics(["expose web 80 as 8080 frm 1.2.3.4"], [{ code: "LW012", line: 4, column: 25, hint: /Did you mean `from`\?/ }]);
    expectDiagnostics(["expose web 80 as 8080 colour red"], [{ code: "LW012", line: 4, column: 25, hint: /^Expected one of: from, on, limit, max, log, router\.$/ }]);
    // A "suggestion" that replaces every character is none: `->` is not a typo of `on`.
    expectDiagnostics(["expose web 80 as 8080 -> 10.0.0.1"], [{ code: "LW012", line: 4, column: 25, hint: /^Expected one of: from, on, limit, max, log, router\.$/ }]);
  });

  it("reports an option given twice, at the second one (LW013)", () => {
    const twice = "expose web 80 as 8080 log log";
    expectCode(CODES.DUPLICATE_OPTION, [twice], [{ code: "LW013", line: 4, column: col(twice, "log", 1), message: /option `log` is given twice/, hint: /Keep one/ }]);
    const froms = "expose web 80 as 8080 from 1.2.3.4 from 2.3.4.5";
    expectDiagnostics([froms], [{ code: "LW013", line: 4, column: col(froms, "from", 1), hint: /separated by commas/ }]);
    const limits = "expose web 80 as 8080 limit 5/30s max 3 limit 6/1m";
    expectDiagnostics([limits], [{ code: "LW013", line: 4, column: col(limits, "limit", 1) }]);
    const routers = "expose web 80 as 8080 router log router upnp";
    expectDiagnostics([routers], [{ code: "LW013", line: 4, column: col(routers, "router", 1), message: /option `router` is given twice/, hint: /`router upnp` if UPnP may be used/ }]);
    const upnps = "expose web 80 as 8080 router upnp upnp";
    expectDiagnostics([upnps], [{ code: "LW013", line: 4, column: col(upnps, "upnp", 1), message: /option `upnp` is given twice/ }]);
  });

  it("suggests `router` for a misspelt one (LW012)", () => {
    expectDiagnostics(["expose web 80 as 8080 routr"], [{ code: "LW012", line: 4, column: 25, hint: /^Did you mean `router`\?$/ }]);
    // A word after `router` that is not `upnp` is an option of its own, and no known one.
    const other = "expose web 80 as 8080 router natpmp";
    expectDiagnostics([other], [{ code: "LW012", line: 4, column: col(other, "natpmp"), message: /unknown option `natpmp`/ }]);
  });

  it("reports a statement given twice, at the second one (LW014)", () => {
    expectCode(CODES.DUPLICATE_STATEMENT, ["interface en0", "expose ssh as 2222", "interface en1"], [{ code: "LW014", line: 6, column: 3, message: /`interface` is given twice/ }]);
    expectDiagnostics(["allow from 1.2.3.4", "allow from 2.3.4.5"], [{ code: "LW014", line: 5, column: 3, message: /`allow from` is given twice/ }]);
  });

  it("accepts `allow privileged` twice: saying it again changes nothing", () => {
    expectDiagnostics(["allow privileged", "allow privileged", "expose http 80 as 80"], []);
  });
});

describe("LW1xx: ports", () => {
  it("refuses a port of 70000, a port of 0 and a port of 20 digits (LW101)", () => {
    expectCode(CODES.PORT_RANGE, ["expose ssh 22 as 70000"], [{ code: "LW101", line: 4, column: col("expose ssh 22 as 70000", "70000"), endColumn: 25, message: /host port 70000 is out of range/, hint: /1–65535/ }]);
    expectDiagnostics(["expose ssh 0 as 2222"], [{ code: "LW101", line: 4, column: 14, message: /guest port 0/ }]);
    expectDiagnostics(["expose web 65530-65540 as 10000-10010"], [{ code: "LW101", line: 4, column: 14, message: /guest port 65540/ }]);
    expectDiagnostics(["expose ssh 22 as 99999999999999999999"], [{ code: "LW101", line: 4, column: 20, message: /host port \(too many digits\) is out of range/ }]);
  });

  it("blames only the port when a derived name is made of an impossible port", () => {
    // No name was written: `tcp-Infinity` must not be reported as a bad name.
    expectDiagnostics(["expose 99999999999999999 as 2222"], [{ code: "LW101", line: 4, column: 10, message: /guest port \(too many digits\)/ }]);
    expectDiagnostics(["expose 100000000000000-100000000000001 as 2222-2223"], [{ code: "LW101", line: 4, column: 10 }]);
  });

  it("refuses a range that runs backwards (LW102)", () => {
    const statement = "expose api 9010-9000 as 19000-19010";
    expectCode(CODES.REVERSED_RANGE, [statement], [{ code: "LW102", line: 4, column: col(statement, "9010"), message: /guest port range 9010-9000 runs backwards/, hint: /9000-9010/ }]);
  });

  it("refuses guest and host ranges of different lengths, at the host range (LW103)", () => {
    const statement = "expose api 9000-9010 as 19000-19005";
    expectCode(CODES.RANGE_LENGTH, [statement], [{ code: "LW103", line: 4, column: col(statement, "19000"), message: /\(6\) and guest ports 9000-9010 \(11\) differ/ }]);
    expectDiagnostics(["expose api 9000 as 19000-19001"], [{ code: "LW103", line: 4, column: col("expose api 9000 as 19000-19001", "19000") }]);
  });

  it("refuses a host port used twice in one VM, at the later statement, naming the earlier (LW104)", () => {
    expectCode(CODES.HOST_PORT_OVERLAP, ["expose a 80 as 8080", "expose b 81 as 8080"], [
      { code: "LW104", line: 5, column: col("expose b 81 as 8080", "8080"), message: /host tcp port 8080 is already used by `a` on line 4/ },
    ]);
  });

  it("counts tcp and udp apart: the same host port for tcp and for udp is fine", () => {
    const result = expectDiagnostics(["expose a 80 as 8080", "expose b 80/udp as 8080"], []);
    expect(result.spec!.forwards.map((f) => [f.name, f.protocol, f.host.first])).toEqual([["a", "tcp", 8080], ["b", "udp", 8080]]);
  });

  it("sees overlaps inside ranges and between tcp+udp and either protocol (LW104)", () => {
    expectDiagnostics(["expose a 9000-9010 as 19000-19010", "expose b 80 as 19010"], [{ code: "LW104", line: 5, column: 18, message: /tcp port 19010 .* `a` on line 4/ }]);
    expectDiagnostics(["expose a 53/tcp+udp as 8053", "expose b 53/udp as 8053"], [{ code: "LW104", line: 5, column: 22, message: /udp port 8053/ }]);
    // The later statement is blamed even when its range starts lower.
    expectDiagnostics(["expose b 80 as 19010", "expose a 9000-9010 as 19000-19010"], [{ code: "LW104", line: 5, column: 25, message: /already used by `b` on line 4/ }]);
  });

  it("refuses a privileged host port unless the annotation or the host policy allows it (LW105)", () => {
    expectCode(CODES.PRIVILEGED_PORT, ["expose http 80 as 80"], [{ code: "LW105", line: 4, column: 21, message: /host port 80 is privileged \(below 1024\)/, hint: /allow privileged/ }]);
    expectDiagnostics(["allow privileged", "expose http 80 as 80"], []);
    expectDiagnostics(["expose http 80 as 1023"], [{ code: "LW105", line: 4, column: 21 }]);
    expectDiagnostics(["expose http 80 as 1024"], []);
    expect(compileFile({ vm: "web", file: FILE, text: yamlBlock("expose http 80 as 80") }, [], { allowPrivileged: true }).spec).not.toBeNull();
  });

  it("refuses a forward whose guest and host ports name different protocols (LW106)", () => {
    const statement = "expose dns 53/udp as 5353/tcp";
    expectCode(CODES.PROTOCOL_CONFLICT, [statement], [{ code: "LW106", line: 4, column: col(statement, "tcp"), message: /guest port says udp but host port says tcp/ }]);
  });

  it("refuses an expose without guest port or service name (LW107)", () => {
    expectCode(CODES.MISSING_GUEST_PORT, ["expose as 8080"], [{ code: "LW107", line: 4, column: 3, message: /needs a guest port or a well-known service name/ }]);
  });
});

describe("LW2xx: addresses", () => {
  it("refuses what is not an IPv4 address or network (LW201)", () => {
    const statement = "expose web 80 as 8080 from 10.0.0.300, 1.2.3.4/33, 1.2.3.4/024, 203.0.113.0/+8";
    expectCode(CODES.INVALID_ADDRESS, [statement], [
      { code: "LW201", line: 4, column: col(statement, "10.0.0.300"), message: /`10.0.0.300` is not an IPv4 address or network/ },
      { code: "LW201", line: 4, column: col(statement, "1.2.3.4/33") },
      { code: "LW201", line: 4, column: col(statement, "1.2.3.4/024") },
      { code: "LW201", line: 4, column: col(statement, "203.0.113.0/+8") },
    ]);
  });

  it("refuses IPv6 as not supported yet, rather than as garbage (LW202)", () => {
    const statement = "expose web 80 as 8080 from 2001:db8::/32, ::1";
    expectCode(CODES.IPV6_UNSUPPORTED, [statement], [
      { code: "LW202", line: 4, column: col(statement, "2001"), message: /IPv6 source `2001:db8::\/32` is not supported yet/, hint: /IPv4 only/ },
      { code: "LW202", line: 4, column: col(statement, "::1") },
    ]);
    expectDiagnostics(["allow from 2001:db8::1", "expose ssh as 2222"], [{ code: "LW202", line: 4, column: 14 }]);
  });

  it("warns about host bits set and uses the network they mean (LW203)", () => {
    const result = expectCode(CODES.HOST_BITS_SET, ["expose web 80 as 8080 from 203.0.113.5/24"], [
      { code: "LW203", severity: "warning", line: 4, column: 30, message: /`203.0.113.5\/24` has host bits set; it means the network 203.0.113.0\/24/, hint: /203.0.113.0\/24/ },
    ]);
    expect(result.spec!.forwards[0]!.sources).toEqual(["203.0.113.0/24"]);
  });

  it("refuses `any` in a list of addresses (LW204)", () => {
    expectCode(CODES.ANY_IN_LIST, ["expose web 80 as 8080 from 1.2.3.4, any"], [{ code: "LW204", line: 4, column: 39, message: /`any` cannot be combined/ }]);
  });
});

describe("LW3xx: names", () => {
  it("refuses a forward name with capitals, underscores or over 32 characters (LW301)", () => {
    expectCode(CODES.INVALID_NAME, ["expose Web_1 80 as 8080"], [{ code: "LW301", line: 4, column: 10, endColumn: 15, message: /forward name `Web_1` is not valid/ }]);
    expectDiagnostics([`expose a${"b".repeat(32)} 80 as 8080`], [{ code: "LW301", line: 4, column: 10 }]);
    expectDiagnostics([`expose a${"b".repeat(31)} 80 as 8080`], []);
  });

  it("refuses a name used twice, at the second (LW302)", () => {
    expectCode(CODES.DUPLICATE_NAME, ["expose web 80 as 8080", "expose web 81 as 8081"], [
      { code: "LW302", line: 5, column: 10, message: /forward name `web` is already used on line 4/, hint: /^Give each forward its own name\.$/ },
    ]);
  });

  it("refuses two forwards whose derived names are equal, asking for an explicit name (LW302)", () => {
    expectDiagnostics(["expose 80 as 8080", "expose 80 as 8081"], [{ code: "LW302", line: 5, column: 3, message: /`tcp-80`/, hint: /explicit name/ }]);
  });

  it("refuses a name that is not a well-known service when no guest port is given (LW303)", () => {
    expectCode(CODES.UNKNOWN_SERVICE, ["expose sshh as 2222"], [{ code: "LW303", line: 4, column: 10, message: /`sshh` is not a well-known service/, hint: /Did you mean `ssh`\?/ }]);
    // Names an object inherits are not services either.
    expectDiagnostics(["expose constructor as 2000"], [{ code: "LW303", line: 4, column: 10, message: /`constructor` is not a well-known service/ }]);
  });

  it("refuses an instance name PF identifiers cannot carry, at the top of the file (LW304)", () => {
    covered.add(CODES.INVALID_VM_NAME);
    for (const vm of ["bad name!", "web\"", "a".repeat(49), "-web", "web;rdr-to"]) {
      check(diagnosticsOf(yamlBlock("expose ssh as 2222"), vm).diagnostics, [{ code: "LW304", line: 1, column: 1, message: /cannot be used in PF rules/ }]);
    }
    expect(diagnosticsOf(yamlBlock("expose ssh as 2222"), "a".repeat(48)).spec).not.toBeNull();
  });
});

describe("LW4xx: interfaces", () => {
  it("refuses what is not an interface name, and the loopback (LW401)", () => {
    const statement = "expose ssh as 2222 on en0, rdr-to";
    expectCode(CODES.INVALID_INTERFACE, [statement], [{ code: "LW401", line: 4, column: col(statement, "rdr-to"), message: /`rdr-to` is not an interface name/ }]);
    expectDiagnostics(["interface lo0", "expose ssh as 2222"], [{ code: "LW401", line: 4, column: 13, message: /loopback/, hint: /VM's address directly/ }]);
    expectDiagnostics(["interface EN0"], [{ code: "LW401", line: 4, column: 13 }]);
  });

  it("refuses a pfctl keyword that looks like an interface name: pfctl would reject every VM's rules (LW401)", () => {
    // `inet6` fits the driver-and-unit pattern, and `rdr on inet6 …` is a pfctl syntax error.
    expectDiagnostics(["interface inet6", "expose ssh as 2222"], [{ code: "LW401", line: 4, column: 13, message: /^`inet6` is a pfctl keyword, not an interface name$/, hint: /en0/ }]);
    const statement = "expose ssh as 2222 on en0, inet6";
    expectDiagnostics([statement], [{ code: "LW401", line: 4, column: col(statement, "inet6"), message: /pfctl keyword/ }]);
  });
});

describe("LW5xx: two files for one VM", () => {
  it("refuses a second file for a VM already read, at its top, naming the first (LW502)", () => {
    covered.add(CODES.DUPLICATE_VM);
    const [a, b, c] = compileFiles([
      { vm: "web", file: "a/web.yaml", text: yamlBlock("expose http 80 as 8080") },
      { vm: "web", file: "b/web.yaml", text: yamlBlock("expose ssh as 2222", "expose x 1 as 70000") },
      { vm: "db", file: "db.yaml", text: yamlBlock("expose postgres as 5432") },
    ]);
    expect(a!.spec).not.toBeNull();
    // Its own mistakes are still reported; it has no rules to emit.
    check(b!.diagnostics, [{ code: "LW502", line: 1, column: 1, message: /^VM `web` is already read from a\/web\.yaml$/, hint: /one lima\.yaml/ }, { code: "LW101", line: 5, column: 17 }], "b/web.yaml");
    expect([b!.spec, b!.standalone]).toEqual([null, null]);
    expect(c!.spec).not.toBeNull();
  });
});

describe("LW5xx: host ports claimed by another VM", () => {
  it("refuses a host port claimed by another VM, naming it and its file:line (LW501)", () => {
    covered.add(CODES.CLAIMED_BY_OTHER_VM);
    const [a, b] = compileFiles([
      { vm: "alpha", file: "alpha/lima.yaml", text: yamlBlock("expose http 80 as 8080", "expose ssh as 2222") },
      { vm: "beta", file: "beta/lima.yaml", text: yamlBlock("expose http 80 as 8081", "expose api 2000-3000 as 2000-3000") },
    ]);
    expect(a!.diagnostics).toEqual([]);
    check(b!.diagnostics, [{ code: "LW501", line: 5, column: 27, message: /host tcp port 2000-3000 is already claimed by VM `alpha` \(`ssh`, alpha\/lima\.yaml:5\)/ }], "beta/lima.yaml");
    expect(b!.spec).toBeNull();
  });

  it("sees a port inside another VM's range, and another VM's port inside a range (LW501)", () => {
    const inside = compileFiles([
      { vm: "alpha", file: "alpha/lima.yaml", text: yamlBlock("expose api 9000-9010 as 19000-19010") },
      { vm: "beta", file: "beta/lima.yaml", text: yamlBlock("expose web 80 as 19005") },
    ]);
    check(inside[1]!.diagnostics, [{ code: "LW501", line: 4, column: col("expose web 80 as 19005", "19005"), message: /port 19005 is already claimed by VM `alpha` \(`api`, alpha\/lima\.yaml:4\)/ }], "beta/lima.yaml");
    const around = compileFiles([
      { vm: "alpha", file: "alpha/lima.yaml", text: yamlBlock("expose web 80 as 19005") },
      { vm: "beta", file: "beta/lima.yaml", text: yamlBlock("expose api 9000-9010 as 19000-19010") },
    ]);
    check(around[1]!.diagnostics, [{ code: "LW501", line: 4, column: col("expose api 9000-9010 as 19000-19010", "19000"), message: /port 19000-19010 is already claimed by VM `alpha` \(`web`/ }], "beta/lima.yaml");
  });

  it("lets two VMs use the same host port for different protocols", () => {
    const results = compileFiles([
      { vm: "alpha", file: "alpha/lima.yaml", text: yamlBlock("expose dns 53/udp as 5353") },
      { vm: "beta", file: "beta/lima.yaml", text: yamlBlock("expose web 80 as 5353") },
    ]);
    expect(results.map((r) => r.diagnostics)).toEqual([[], []]);
  });

  it("checks each VM against the VMs before it, and ignores VMs that did not compile", () => {
    const results = compileFiles([
      { vm: "alpha", file: "alpha/lima.yaml", text: yamlBlock("expose web 80 as 8080", "expose bad 1 as 70000") },
      { vm: "beta", file: "beta/lima.yaml", text: yamlBlock("expose web 80 as 8080") },
      { vm: "gamma", file: "gamma/lima.yaml", text: yamlBlock("expose dns 53/tcp+udp as 8080") },
    ]);
    expect(results.map((r) => r.diagnostics.map((d) => d.code))).toEqual([["LW101"], [], ["LW501"]]);
    expect(results[2]!.diagnostics[0]!.message).toMatch(/VM `beta`/);
  });
});

describe("LW6xx: connection limits", () => {
  it("refuses limit or max on a UDP forward (LW601)", () => {
    const statement = "expose dns 53/udp as 5353 limit 5/30s";
    expectCode(CODES.LIMIT_NOT_TCP, [statement], [{ code: "LW601", line: 4, column: col(statement, "5/30s"), message: /UDP only/ }]);
    expectDiagnostics(["expose dns 53/udp as 5353 max 5"], [{ code: "LW601", line: 4, column: 33 }]);
  });

  it("refuses counts and periods out of range (LW602)", () => {
    const zero = "expose web 80 as 8080 limit 0/30s";
    expectCode(CODES.LIMIT_VALUE, [zero], [{ code: "LW602", line: 4, column: col(zero, "0/"), message: /connection count must be between 1 and 1000000/ }]);
    expectDiagnostics(["expose web 80 as 8080 limit 5/0s"], [{ code: "LW602", line: 4, column: 33, message: /period in seconds/ }]);
    expectDiagnostics(["expose web 80 as 8080 limit 5/25h"], [{ code: "LW602", line: 4, column: 33, message: /between 1 and 86400/ }]);
    expectDiagnostics(["expose web 80 as 8080 max 2000000"], [{ code: "LW602", line: 4, column: 29, message: /max must be between 1 and 1000000/ }]);
    expectDiagnostics(["expose web 80 as 8080 limit 5/24h max 1000000"], []);
    // PF's rate arithmetic is 32-bit: (count + 1) × 1000 × seconds must fit.
    expectDiagnostics(["expose web 80 as 8080 limit 10000/24h"], [{ code: "LW602", line: 4, column: 31, message: /more than PF can count/, hint: /limit 100\/1h/ }]);
    expectDiagnostics(["expose web 80 as 8080 limit 1000/1h"], []);
  });

  it("names a period's unknown unit, at the period, with the units it takes (LW602)", () => {
    const statement = "expose web 80 as 8080 limit 5/30sec";
    expectDiagnostics([statement], [{ code: "LW602", line: 4, column: col(statement, "30sec"), endColumn: col(statement, "30sec") + 5, message: /^`sec` is not a unit of time here$/, hint: /`30s`, `30m` or `30h`/ }]);
    // Units are lowercase, as in Lima's own durations; the limit is dropped, not reported twice.
    expectDiagnostics(["expose web 80 as 8080 limit 5/2H"], [{ code: "LW602", line: 4, column: 33, message: /`H` is not a unit/ }]);
  });

  it("warns that limit and max apply to the TCP part of a tcp+udp forward (LW603)", () => {
    const statement = "expose game 27015/tcp+udp as 27015 max 5";
    const result = expectCode(CODES.LIMIT_TCP_PART_ONLY, [statement], [{ code: "LW603", severity: "warning", line: 4, column: col(statement, "max") + 4, message: /TCP part/ }]);
    expect(result.spec!.forwards[0]!.max).toBe(5);
  });
});

describe("LW8xx: router mapping", () => {
  it("refuses `upnp` that does not follow `router`, saying where it goes (LW801)", () => {
    const alone = "expose web 80 as 8080 upnp";
    expectCode(CODES.UPNP_WITHOUT_ROUTER, [alone], [{ code: "LW801", line: 4, column: col(alone, "upnp"), endColumn: col(alone, "upnp") + 4, message: /`upnp` on its own/, hint: /Write `router upnp` to have the router map this port/ }]);
    const apart = "expose web 80 as 8080 router log upnp";
    expectDiagnostics([apart], [{ code: "LW801", line: 4, column: col(apart, "upnp"), hint: /right after `router`/ }]);
    const before = "expose web 80 as 8080 upnp router";
    expectDiagnostics([before], [{ code: "LW801", line: 4, column: col(before, "upnp"), hint: /Write `router upnp`/ }]);
  });

  it("refuses a router mapping of more than 64 ports, at `router`, naming the count (LW802)", () => {
    const long = "expose api 9000-9064 as 19000-19064 router upnp";
    expectCode(CODES.ROUTER_RANGE_TOO_LONG, [long], [{ code: "LW802", line: 4, column: col(long, "router"), endColumn: col(long, "upnp") + 4, message: /65 mappings \(host ports 19000-19064\)/, hint: /at most 64 ports/ }]);
    expectDiagnostics(["expose api 9000-9063/tcp+udp as 19000-19063 router"], []);
    // A range too long for PF's own checks is reported once, by the port checks.
    expectDiagnostics(["expose api 9000-9100 as 19000-19050 router"], [{ code: "LW103", line: 4, column: 27 }]);
  });
});

describe("LW7xx: PF output", () => {
  it("refuses two forwards whose PF names collide after shortening, naming both (LW701)", () => {
    covered.add(CODES.NAME_COLLISION);
    // A long forward name on VM `alpha` and a forward named after its hash on VM `alpha_<9 chars>`
    // write the same ban table (test/ban-table-twin.ts).
    const { name, hash, twin } = banTableTwin();
    const a = specOf(yamlBlock(`expose ${name} 22 as 2222 limit 5/30s`), "alpha");
    const b = specOf(yamlBlock("expose web 80 as 8080", `expose ${hash} 22 as 2223 limit 5/30s`), twin);
    expect(forwardIdentifiers(b.vm, b.forwards[1]!.name).banTable).toBe(forwardIdentifiers(a.vm, a.forwards[0]!.name).banTable);

    const emitted = emitAnchor([{ spec: b, address: "192.168.105.3" as Ipv4Address }, { spec: a, address: "192.168.105.2" as Ipv4Address }], FACTS);
    expect(emitted.ok).toBe(false);
    if (emitted.ok) return;
    // Reported on the forward that comes second in the anchor's order (VMs by name), once per
    // colliding PF name the two forwards write: here the ban table only (no allow-lists).
    const banTable = forwardIdentifiers(a.vm, a.forwards[0]!.name).banTable;
    const collision = { code: "LW701", line: 5, column: 1, message: new RegExp(`\`${twin}/${hash}\` collides with \`alpha/${name}\` after shortening`), hint: /Rename/ };
    check(emitted.diagnostics, [collision], `${twin}/lima.yaml`);
    expect(emitted.diagnostics[0]!.message).toContain(`PF name \`${banTable}\``);

    // With allow-lists on both, their tables (shortened the same way) collide too.
    const aFrom = specOf(yamlBlock(`expose ${name} 22 as 2222 limit 5/30s from 203.0.113.0/24`), "alpha");
    const bFrom = specOf(yamlBlock("expose web 80 as 8080", `expose ${hash} 22 as 2223 limit 5/30s from 198.51.100.0/24`), twin);
    const both = emitAnchor([{ spec: bFrom, address: "192.168.105.3" as Ipv4Address }, { spec: aFrom, address: "192.168.105.2" as Ipv4Address }], FACTS);
    expect(both.ok).toBe(false);
    if (!both.ok) check(both.diagnostics, [collision, collision], `${twin}/lima.yaml`);

    // Without the limits neither writes a ban table, and nothing else they write collides.
    const aPlain = specOf(yamlBlock(`expose ${name} 22 as 2222`), "alpha");
    const bPlain = specOf(yamlBlock("expose web 80 as 8080", `expose ${hash} 22 as 2223`), twin);
    expect(emitAnchor([{ spec: bPlain, address: "192.168.105.3" as Ipv4Address }, { spec: aPlain, address: "192.168.105.2" as Ipv4Address }], FACTS).ok).toBe(true);
  });
});

describe("all at once", () => {
  it("reports every problem of a file in one go", () => {
    const result = diagnosticsOf(yamlBlock("expose ssh 22 as 70000", "exopse x", "expose web 80 as 8080 from 2001:db8::1", "expose dns 53/udp as 5353 limit 5/30s", "expose web 81 as 8081"));
    expect(result.diagnostics.map((d) => d.code).sort()).toEqual(["LW011", "LW101", "LW202", "LW302", "LW601"]);
  });

  it("maps positions in the list form, plain and quoted", () => {
    check(diagnosticsOf(`${HEADER}x-limawan:\n  - expose ssh 22 as 70000\n  - "expose web 80 as 99999"\n  - 'expose api 9000 as 70000'\n`).diagnostics, [
      { code: "LW101", line: 4, column: 22 },
      { code: "LW101", line: 5, column: 23 },
      { code: "LW101", line: 6, column: 25 },
    ]);
  });

  it("maps positions in a block indented more than usual, with comments and blank lines", () => {
    const text = `${HEADER}x-limawan: |   # forwards\n      # ssh first\n      expose ssh as 2222   # guarded\n\n      expose web 80 as 70000 # oops\n`;
    check(diagnosticsOf(text).diagnostics, [{ code: "LW101", line: 7, column: 24 }]);
  });

  it("maps positions in a one-line plain or quoted annotation", () => {
    check(diagnosticsOf("x-limawan: expose ssh as 70000\n").diagnostics, [{ code: "LW101", line: 1, column: 26 }]);
    check(diagnosticsOf("x-limawan: \"expose ssh as 70000\"\n").diagnostics, [{ code: "LW101", line: 1, column: 27 }]);
  });

  it("maps positions in a file with Windows line endings", () => {
    check(diagnosticsOf("x-limawan: |\r\n  expose ssh as 2222\r\n  expose web 80 as 70000\r\n").diagnostics, [{ code: "LW101", line: 3, column: 20 }]);
  });

  it("has a test above for every code in CODES", () => {
    expect([...covered].sort()).toEqual(Object.values(CODES).sort());
  });
});
