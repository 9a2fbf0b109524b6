// The anchor points on the real kernel (issue 12): macOS Internet Sharing inserts four references
// into the loaded main ruleset when a vmnet network starts, and they are in no pf.conf
// (PF-FACTS.md §4a); loading pf.conf would drop them and with them the VMs' NAT. LimaWAN puts its
// points into the ruleset as loaded and takes them out the same way (compiler/pf/loaded-ruleset-edit.ts,
// pfctl -N / -R). Here session anchors stand in for Internet Sharing's and for LimaWAN's, so
// neither the Mac's own references nor a LimaWAN install are touched; the ruleset found is put
// back at the end (and the session checks PF is as it was).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anchorPointsOf, withAnchorPoints, withoutAnchorPoints, type LoadedRuleset, type RulesetChange } from "../../compiler/pf/loaded-ruleset-edit.js";
import { pf, session } from "./context.js";

const SHARING = `${session.anchor}-sharing`;
const OURS = `${session.anchor}-points`;
const SHARING_REFERENCES = [
  new RegExp(`^scrub-anchor "${SHARING}" all`, "m"),
  new RegExp(`^nat-anchor "${SHARING}" all$`, "m"),
  new RegExp(`^rdr-anchor "${SHARING}" all$`, "m"),
  new RegExp(`^anchor "${SHARING}" all$`, "m"),
];

let found: LoadedRuleset;

beforeAll(async () => {
  found = await pf.loadedMainRuleset();
});
afterAll(async () => {
  await pf.replaceMainPart("translation", found.translation);
  await pf.replaceMainPart("filter", found.filter);
});

async function apply(change: RulesetChange): Promise<void> {
  if (change.translation !== null) await pf.replaceMainPart("translation", change.translation);
  if (change.filter !== null) await pf.replaceMainPart("filter", change.filter);
}

/** The main ruleset with the four references Internet Sharing adds, each among the rules of its kind. */
function withSharing(loaded: LoadedRuleset): RulesetChange {
  const filter = loaded.filter.split("\n").filter(Boolean);
  const lastScrub = filter.reduce((at, line, i) => (/^scrub/.test(line) ? i : at), -1);
  filter.splice(lastScrub + 1, 0, `scrub-anchor "${SHARING}" all fragment reassemble`);
  filter.push(`anchor "${SHARING}" all`);
  return { translation: `${loaded.translation}nat-anchor "${SHARING}" all\nrdr-anchor "${SHARING}" all\n`, filter: `${filter.join("\n")}\n` };
}

const loadedText = async () => {
  const loaded = await pf.loadedMainRuleset();
  return { loaded, text: `${loaded.translation}\n${loaded.filter}` };
};

describe("anchor points edited in the loaded ruleset", () => {
  it("keep references inserted at run time, going in and coming out", async () => {
    await apply(withSharing(found));
    const shared = await loadedText();
    for (const reference of SHARING_REFERENCES) expect(shared.text).toMatch(reference);

    await apply(withAnchorPoints(shared.loaded, OURS));
    const installed = await loadedText();
    expect(anchorPointsOf(installed.loaded, OURS)).toEqual({ rdr: true, filter: true });
    for (const reference of SHARING_REFERENCES) expect(installed.text).toMatch(reference);
    expect(withAnchorPoints(installed.loaded, OURS)).toEqual({ translation: null, filter: null }); // a second install changes nothing

    await apply(withoutAnchorPoints(installed.loaded, OURS));
    const removed = await loadedText();
    expect(anchorPointsOf(removed.loaded, OURS)).toEqual({ rdr: false, filter: false });
    for (const reference of SHARING_REFERENCES) expect(removed.text).toMatch(reference);
    // Everything else is as it was: the edit added and removed exactly two lines.
    expect(removed.text).toBe(shared.text);
  });
});
