import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { APPLE_PF_CONF } from "../apple-pf-conf.js";
import { FILTER_POINT, RDR_POINT } from "../../compiler/pf/anchor-points.js";
import { anchorPointsIn, BEGIN_MARKER, END_MARKER, insertAnchorPoints, removeAnchorPoints } from "../../compiler/pf/pf-conf-edit.js";


const statements = (text: string) => text.split("\n").filter((l) => l.trim() && !l.trim().startsWith("#"));

describe("pf.conf anchor points", () => {
  it("puts rdr-anchor right after Apple's rdr-anchor and anchor right after Apple's anchor", () => {
    const result = insertAnchorPoints(APPLE_PF_CONF);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(statements(result.text)).toEqual([
      'scrub-anchor "com.apple/*"',
      'nat-anchor "com.apple/*"',
      'rdr-anchor "com.apple/*"',
      RDR_POINT,
      'dummynet-anchor "com.apple/*"',
      'anchor "com.apple/*"',
      FILTER_POINT,
      'load anchor "com.apple" from "/etc/pf.anchors/com.apple"',
    ]);
    expect(anchorPointsIn(result.text)).toEqual({ rdr: true, filter: true });
  });

  it("is idempotent: a second insert changes nothing", () => {
    const once = insertAnchorPoints(APPLE_PF_CONF);
    if (!once.ok) throw new Error(once.reason);
    const twice = insertAnchorPoints(once.text);
    expect(twice).toEqual({ ok: true, text: once.text, changed: false });
  });

  it("removal gives back the original file byte for byte", () => {
    const inserted = insertAnchorPoints(APPLE_PF_CONF);
    if (!inserted.ok) throw new Error(inserted.reason);
    expect(removeAnchorPoints(inserted.text)).toEqual({ text: APPLE_PF_CONF, changed: true, unrecognised: 0 });
  });

  it("keeps edits made around the markers while removing only its own lines", () => {
    const inserted = insertAnchorPoints(APPLE_PF_CONF);
    if (!inserted.ok) throw new Error(inserted.reason);
    const edited = inserted.text.replace("# com.apple anchor point", "# com.apple anchor point (edited by macOS)");
    expect(removeAnchorPoints(edited).text).toBe(APPLE_PF_CONF.replace("# com.apple anchor point", "# com.apple anchor point (edited by macOS)"));
  });

  it("takes out only the exact blocks it wrote: with an end marker deleted by hand, Apple's lines stay", () => {
    const inserted = insertAnchorPoints(APPLE_PF_CONF);
    if (!inserted.ok) throw new Error(inserted.reason);
    const lines = inserted.text.split("\n");
    lines.splice(lines.indexOf(END_MARKER), 1); // the first block's end marker
    const removed = removeAnchorPoints(lines.join("\n"));
    expect(removed.unrecognised).toBe(1);
    expect(removed.text.split("\n")).toContain('anchor "com.apple/*"');
    expect(anchorPointsIn(removed.text)).toEqual({ rdr: true, filter: false }); // the damaged block stays whole
  });

  it("insert then remove is the identity for any text (with or without a final newline)", () => {
    const line = fc.oneof(
      fc.constantFrom('rdr-anchor "com.apple/*"', 'anchor "com.apple/*"', "pass in all", "nat on en0 from 10.0.0.0/8 to any -> (en0)", "# comment", "", 'load anchor "x" from "/y"'),
      fc.string({ maxLength: 20 }).filter((s) => !s.includes("\n") && s !== BEGIN_MARKER),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), (lines) => {
        const text = lines.join("\n");
        fc.pre(!anchorPointsIn(text).rdr && !anchorPointsIn(text).filter);
        const inserted = insertAnchorPoints(text);
        if (!inserted.ok) return true;
        return removeAnchorPoints(inserted.text).text === text && anchorPointsIn(inserted.text).rdr && anchorPointsIn(inserted.text).filter;
      }),
    );
  });

  it("without Apple's lines, keeps translation before filtering", () => {
    const custom = "set skip on lo0\nnat on en0 from 10.0.0.0/8 to any -> (en0)\npass in all\nblock in on en1\n";
    const result = insertAnchorPoints(custom);
    if (!result.ok) throw new Error(result.reason);
    expect(statements(result.text)).toEqual(["set skip on lo0", "nat on en0 from 10.0.0.0/8 to any -> (en0)", RDR_POINT, "pass in all", "block in on en1", FILTER_POINT]);
  });
});
