import { describe, expect, it } from "vitest";
import { anchorPointsOf, internetSharingReferenced, withAnchorPoints, withoutAnchorPoints, type LoadedRuleset } from "../../compiler/pf/loaded-ruleset-edit.js";
import { Pfctl } from "../../plugin/host/pfctl.js";
import { createRunner } from "../../plugin/host/run.js";

// What a Mac prints with a vmnet shared network running: Apple's points from /etc/pf.conf, and
// Internet Sharing's references inserted at run time (PF-FACTS.md §4a, corectl#105).
const SHARING: LoadedRuleset = {
  translation: ['nat-anchor "com.apple/*" all', 'rdr-anchor "com.apple/*" all', 'nat-anchor "com.apple.internet-sharing" all', 'rdr-anchor "com.apple.internet-sharing" all', ""].join("\n"),
  filter: ['scrub-anchor "com.apple/*" all fragment reassemble', 'scrub-anchor "com.apple.internet-sharing" all fragment reassemble', 'anchor "com.apple/*" all', 'anchor "com.apple.internet-sharing" all', ""].join("\n"),
};

describe("our anchor points in the loaded main ruleset", () => {
  it("go right after Apple's points, keeping every runtime reference (vmnet's NAT) in its place", () => {
    const change = withAnchorPoints(SHARING);
    expect(change.translation).toBe(['nat-anchor "com.apple/*" all', 'rdr-anchor "com.apple/*" all', 'rdr-anchor "limawan" all', 'nat-anchor "com.apple.internet-sharing" all', 'rdr-anchor "com.apple.internet-sharing" all', ""].join("\n"));
    expect(change.filter).toBe(['scrub-anchor "com.apple/*" all fragment reassemble', 'scrub-anchor "com.apple.internet-sharing" all fragment reassemble', 'anchor "com.apple/*" all', 'anchor "limawan" all', 'anchor "com.apple.internet-sharing" all', ""].join("\n"));
  });

  it("change nothing when they are there, and add only the one that is missing", () => {
    const both = { translation: withAnchorPoints(SHARING).translation!, filter: withAnchorPoints(SHARING).filter! };
    expect(anchorPointsOf(both, "limawan")).toEqual({ rdr: true, filter: true });
    expect(withAnchorPoints(both)).toEqual({ translation: null, filter: null });
    expect(withAnchorPoints({ ...both, filter: SHARING.filter })).toEqual({ translation: null, filter: both.filter });
  });

  it("go after the last translation rule, or last, where Apple's points are missing (another tool's ruleset)", () => {
    const vpn: LoadedRuleset = { translation: "nat on utun3 all -> (utun3)\n", filter: "block drop out quick on en0 all\npass out quick on utun3 all\n" };
    expect(withAnchorPoints(vpn)).toEqual({
      translation: 'nat on utun3 all -> (utun3)\nrdr-anchor "limawan" all\n',
      filter: 'block drop out quick on en0 all\npass out quick on utun3 all\nanchor "limawan" all\n',
    });
    expect(withAnchorPoints({ translation: "", filter: "" })).toEqual({ translation: 'rdr-anchor "limawan" all\n', filter: 'anchor "limawan" all\n' });
  });

  it("a point restricted to some traffic is not ours: status and up read it the same way, and up adds the whole one", () => {
    const restricted: LoadedRuleset = { translation: 'rdr-anchor "limawan" on en0 all\n', filter: 'anchor "limawan" in all\n' };
    expect(anchorPointsOf(restricted, "limawan")).toEqual({ rdr: false, filter: false });
    expect(new Pfctl(createRunner({ env: {}, user: null, limaHome: "/", dryRun: true, report: () => undefined })).anchorPointsIn(restricted)).toEqual({ rdr: false, filter: false });
    expect(withAnchorPoints(restricted)).toEqual({ translation: 'rdr-anchor "limawan" on en0 all\nrdr-anchor "limawan" all\n', filter: 'anchor "limawan" in all\nanchor "limawan" all\n' });
    expect(anchorPointsOf({ translation: 'rdr-anchor "limawan"\n', filter: '  anchor "limawan" all\n' }, "limawan")).toEqual({ rdr: true, filter: true });
  });

  it("come out again exactly, and nothing else does (a different anchor named like ours stays)", () => {
    const added = withAnchorPoints(SHARING);
    const loaded = { translation: `${added.translation}rdr-anchor "limawan/other" all\n`, filter: added.filter! };
    expect(withoutAnchorPoints(loaded)).toEqual({ translation: `${SHARING.translation}rdr-anchor "limawan/other" all\n`, filter: SHARING.filter });
    expect(withoutAnchorPoints(SHARING)).toEqual({ translation: null, filter: null });
  });
});

describe("Internet Sharing's references (vmnet's NAT is running)", () => {
  it("are seen in either part, as the anchor or one under it, and not in Apple's own points or a rule merely naming it", () => {
    expect(internetSharingReferenced(SHARING)).toBe(true);
    expect(internetSharingReferenced({ translation: "", filter: 'anchor "com.apple.internet-sharing/bridge100" all\n' })).toBe(true);
    const apple: LoadedRuleset = { translation: 'nat-anchor "com.apple/*" all\nrdr-anchor "com.apple/*" all\n', filter: 'anchor "com.apple/*" all\n' };
    expect(internetSharingReferenced(apple)).toBe(false);
    expect(internetSharingReferenced({ translation: "", filter: 'anchor "com.apple.internet-sharingX" all\npass in quick on en0 proto tcp from any to any port = 22 label "com.apple.internet-sharing"\n' })).toBe(false);
  });
});
