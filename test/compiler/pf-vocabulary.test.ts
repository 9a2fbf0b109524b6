// The PF vocabulary the plugin asks of the compiler (compiler/pf/): anchor points and their
// recogniser, the one section classifier, a printed rule read back, the skip option, and the
// bare form of a printed scrub-anchor line.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { anchorCallOf, anchorPoint, bareAnchorPoint, isAnchorPoint, printedAnchorPoint } from "../../compiler/pf/anchor-points.js";
import { hasAnchorPoint, withBareAnchorPoints } from "../../compiler/pf/loaded-ruleset-edit.js";
import { readPrintedRule } from "../../compiler/pf/printed-rule.js";
import { isInPart, sectionOf } from "../../compiler/pf/rule-sections.js";
import { isSkipName, skipOption } from "../../compiler/pf/skip-option.js";
import { parseRuleset } from "../standins/pfctl/ruleset.mjs";

describe("anchor points", () => {
  it("are written as pf.conf has them and recognised as pfctl prints them", () => {
    expect(anchorPoint("rdr-anchor", "limawan")).toBe('rdr-anchor "limawan"');
    expect(printedAnchorPoint("anchor", "limawan")).toBe('anchor "limawan" all');
    for (const line of ['rdr-anchor "limawan"', 'rdr-anchor "limawan" all', '  rdr-anchor   "limawan"  all ']) expect(isAnchorPoint(line, "rdr-anchor", "limawan")).toBe(true);
  });

  it("a point for some traffic only, of another kind or another anchor is not ours", () => {
    expect(isAnchorPoint('rdr-anchor "limawan" on en0 all', "rdr-anchor", "limawan")).toBe(false);
    expect(isAnchorPoint('anchor "limawan" all', "rdr-anchor", "limawan")).toBe(false);
    expect(isAnchorPoint('anchor "limawan/other" all', "anchor", "limawan")).toBe(false);
    expect(isAnchorPoint('anchor "limawan-test-1" all', "anchor", "limawan")).toBe(false);
    expect(hasAnchorPoint('nat-anchor "com.apple/*" all\nrdr-anchor "limawan" all\n', "rdr-anchor", "limawan")).toBe(true);
  });

  it("read back any anchor call with what follows its name", () => {
    expect(anchorCallOf('scrub-anchor "com.apple/*" all fragment reassemble')).toEqual({ kind: "scrub-anchor", name: "com.apple/*", rest: "all fragment reassemble" });
    expect(anchorCallOf('dummynet-anchor "com.apple/*"')).toEqual({ kind: "dummynet-anchor", name: "com.apple/*", rest: "" });
    expect(anchorCallOf("rdr on en0 inet proto tcp from any to any port = 80 -> 10.0.0.2 port 80")).toBeNull();
  });

  it("a printed scrub-anchor has a bare form without `fragment reassemble`; nothing else has one", () => {
    expect(bareAnchorPoint('scrub-anchor "com.apple.internet-sharing" all fragment reassemble')).toBe('scrub-anchor "com.apple.internet-sharing" all');
    expect(bareAnchorPoint('scrub-anchor "x" all')).toBeNull();
    expect(bareAnchorPoint('anchor "x" all')).toBeNull();
    expect(bareAnchorPoint("scrub in all fragment reassemble")).toBeNull();
    const part = 'scrub-anchor "com.apple/*" all fragment reassemble\nanchor "com.apple/*" all\n';
    expect(withBareAnchorPoints(part)).toEqual({
      text: 'scrub-anchor "com.apple/*" all\nanchor "com.apple/*" all\n',
      bared: [{ printed: 'scrub-anchor "com.apple/*" all fragment reassemble', bare: 'scrub-anchor "com.apple/*" all' }],
    });
  });
});

describe("the section of a statement", () => {
  it("follows pfctl's order: scrub is normalization, `no rdr` translation, anchor points by their kind", () => {
    const cases: [string, ReturnType<typeof sectionOf>][] = [
      ["set skip on lo0", "options"],
      ["scrub in all fragment reassemble", "normalization"],
      ['scrub-anchor "com.apple/*" all fragment reassemble', "normalization"],
      ["nat on en0 from 10.0.0.0/8 to any -> (en0)", "translation"],
      ["no rdr on en0 inet proto tcp from <ban> to (en0) port 22", "translation"],
      ['rdr-anchor "limawan" all', "translation"],
      ['dummynet-anchor "com.apple/*"', "dummynet"],
      ["pass in quick on en0 all", "filtering"],
      ['anchor "com.apple/*" all', "filtering"],
      ["antispoof for lo0", "filtering"],
      ['load anchor "com.apple" from "/etc/pf.anchors/com.apple"', null],
      ["table <x> persist", null],
      ["# a comment", null],
      ["no pass", null],
      ["", null],
    ];
    for (const [line, section] of cases) expect([line, sectionOf(line)]).toEqual([line, section]);
    expect(isInPart('scrub-anchor "x" all', "filter")).toBe(true);
    expect(isInPart('scrub-anchor "x" all', "translation")).toBe(false);
  });

  it("agrees with the pfctl stand-in's parser on every rule both read", () => {
    const rule = fc.constantFrom(
      "scrub in all",
      'scrub-anchor "a" all',
      "nat on en0 from 10.0.0.0/8 to any -> (en0)",
      "rdr on en0 inet proto tcp from any to (en0) port 22 -> 10.0.0.2 port 22",
      "no rdr on en0 inet proto tcp from any to (en0) port 22",
      'nat-anchor "a" all',
      'rdr-anchor "a" all',
      "pass in all",
      "block drop in quick on en0 all",
      'anchor "a" all',
    );
    fc.assert(
      fc.property(rule, (line) => {
        const parsed = parseRuleset(line);
        const section = parsed.normalization.length > 0 ? "normalization" : parsed.translation.length > 0 ? "translation" : parsed.filtering.length > 0 ? "filtering" : null;
        return section === sectionOf(line);
      }),
    );
  });
});

describe("a printed rule read back", () => {
  it("matches ports, never the redirection's target", () => {
    expect(readPrintedRule("rdr pass on en0 inet proto tcp from any to any port = 8080 -> 127.0.0.1 port 9000").ports).toEqual([{ first: 8080, last: 8080 }]);
    expect(readPrintedRule("pass in quick proto udp from any port 53 to any port 27015:27016").ports).toEqual([{ first: 53, last: 53 }, { first: 27015, last: 27016 }]);
    expect(readPrintedRule("block drop in quick on en0 all").ports).toBeNull();
  });

  it("says whether it redirects (and passes), filters quick, calls an anchor, and its label", () => {
    const rdrPass = readPrintedRule("rdr pass on en0 inet proto tcp from any to any port = 8080 -> 127.0.0.1 port 9000");
    expect([rdrPass.redirects, rdrPass.passes, rdrPass.keyword, rdrPass.section]).toEqual([true, true, "rdr", "translation"]);
    expect(readPrintedRule("no rdr on en0 inet proto tcp from <b> to (en0) port = 22").redirects).toBe(false);
    expect(readPrintedRule('rdr-anchor "x" all').redirects).toBe(false);
    const pass = readPrintedRule('pass in quick on en0 inet proto tcp from any to 10.0.0.2 port = 22 flags S/SA keep state label "quick one" tagged t');
    expect([pass.filters, pass.quick, pass.label, pass.anchorCall]).toEqual([true, true, "quick one", null]);
    expect(readPrintedRule('pass in on en0 all label "quick"').quick).toBe(false);
    expect(readPrintedRule('anchor "com.apple/*" all').anchorCall).toEqual({ kind: "anchor", name: "com.apple/*", rest: "all" });
  });
});

describe("the skip option", () => {
  it("names one interface plainly and several in braces, leaving out names pfctl would misread", () => {
    expect(skipOption(["lo0"])).toEqual({ option: "set skip on lo0", unusable: [] });
    expect(skipOption(new Set(["lo0", "utun3", "bridge100"]))).toEqual({ option: "set skip on { lo0 utun3 bridge100 }", unusable: [] });
    expect(skipOption([])).toEqual({ option: null, unusable: [] });
    expect(skipOption(["lo0", "inet6", "a;b", "x".repeat(16)])).toEqual({ option: "set skip on lo0", unusable: ["inet6", "a;b", "x".repeat(16)] });
  });

  it("what it writes, pfctl (the stand-in) reads back as those very interfaces", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.stringMatching(/^[a-z]{1,8}[0-9]{1,3}$/).filter(isSkipName), { minLength: 1, maxLength: 5 }), (names) => {
        const parsed = parseRuleset(`${skipOption(names).option}\n`);
        return parsed.errors.length === 0 && JSON.stringify(parsed.skip) === JSON.stringify(names);
      }),
    );
  });
});
