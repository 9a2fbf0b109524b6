// The real pfctl's parser (`pfctl -n`: parse, load nothing) on everything LimaWAN emits: the
// golden files as they are, every bundled sample, and a few hundred anchors drawn from the
// property tests' arbitraries — long names (shortened PF names), several VMs, ranges, every
// option. Checked on the session's test anchor; `-n` changes nothing either way.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { emitAnchor } from "../../compiler/emit-pf.js";
import type { InterfaceName, Ipv4Address, VmSpec } from "../../compiler/ir.js";
import { compileFile } from "../../compiler/pipeline.js";
import { withBareAnchorPoints } from "../../compiler/pf/loaded-ruleset-edit.js";
import { withoutNoise } from "../../plugin/host/pfctl.js";
import { arbitraryPlacedVms } from "../arbitraries.js";
import { pf, pfctl, session } from "./context.js";

const golden = fileURLToPath(new URL("../golden/", import.meta.url));
const samples = fileURLToPath(new URL("../../samples/", import.meta.url));
const EN0 = { defaultInterfaces: ["en0" as InterfaceName] as const };

describe("pfctl -n accepts what LimaWAN emits", () => {
  it.each(readdirSync(golden).filter((f) => f.endsWith(".pf")))("the golden %s, as it is", async (file) => {
    await pf.checkAnchor(readFileSync(path.join(golden, file), "utf8"));
  });

  it("every bundled sample's compiled anchor, with nothing on stderr but pfctl's notices", async () => {
    for (const file of readdirSync(samples).filter((f) => f.endsWith(".yaml") && f !== "broken.yaml")) {
      const result = compileFile({ vm: path.basename(file, ".yaml"), file, text: readFileSync(path.join(samples, file), "utf8") });
      expect(result.spec, file).not.toBeNull();
      const emitted = emitAnchor([{ spec: result.spec!, address: "192.168.105.2" as Ipv4Address }], EN0);
      if (!emitted.ok) throw new Error(JSON.stringify(emitted.diagnostics));
      const check = await pfctl(["-n", "-a", session.anchor, "-f", "-"], emitted.text);
      expect(withoutNoise(check.stderr), file).toBe("");
      expect(check.exitCode, file).toBe(0);
    }
  });

  it("300 anchors from the arbitraries: long names, several VMs, ranges, every option", async () => {
    const drawn = fc.sample(arbitraryPlacedVms({ minVms: 1, maxVms: 4 }), { numRuns: 300, seed: 20261129 });
    const specs: VmSpec[] = drawn.flatMap((vms) => vms.map((vm) => vm.spec));
    const forwards = specs.flatMap((s) => s.forwards);
    // The sample must cover what it claims to, or passing proves less than it says.
    expect(drawn.some((vms) => vms.length >= 3)).toBe(true);
    expect(specs.some((s) => s.vm.length >= 30)).toBe(true);
    expect(forwards.some((f) => f.host.last > f.host.first)).toBe(true);
    for (const protocol of ["tcp", "udp", "tcp+udp"]) expect(forwards.some((f) => f.protocol === protocol)).toBe(true);
    expect(forwards.some((f) => f.limit !== null && f.max !== null && f.sources.length > 0 && f.log)).toBe(true);
    expect(forwards.some((f) => f.interfaces !== null && f.interfaces.length > 1)).toBe(true);

    let checked = 0;
    for (const vms of drawn) {
      const emitted = emitAnchor(vms, EN0);
      if (!emitted.ok) continue; // names that collide once shortened: refused before pfctl, by design
      const check = await pfctl(["-n", "-a", session.anchor, "-f", "-"], emitted.text);
      if (check.exitCode !== 0) throw new Error(`pfctl -n rejects:\n${withoutNoise(check.stderr)}\n--- the anchor:\n${emitted.text}`);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(290);
  });

  it("rejects what LimaWAN must never emit (rdr-to), proving the check is real", async () => {
    const check = await pfctl(["-n", "-a", session.anchor, "-f", "-"], "pass in on en0 proto tcp to port 2222 rdr-to 192.168.105.2 port 22\n");
    expect(check.exitCode).not.toBe(0);
    await expect(pf.checkAnchor("pass in on en0 proto tcp to port 2222 rdr-to 192.168.105.2 port 22\n")).rejects.toThrow(/pfctl rejected the generated rules/);
  });
});

describe("the main ruleset's filter rules as pfctl prints them, fed back (PF-FACTS.md §4a)", () => {
  it("pfctl -n -R takes Apple's printed scrub-anchor line, or at least its bare form, which up falls back to", async () => {
    // Apple's `pfctl -s rules`, word for word (docs/PFCTL-OUTPUT.md §d); -n loads nothing.
    const printed = 'scrub-anchor "com.apple/*" all fragment reassemble\nanchor "com.apple/*" all\n';
    const bare = withBareAnchorPoints(printed);
    expect(bare.bared).toHaveLength(1);
    const [asPrinted, asBare] = [await pfctl(["-n", "-R", "-f", "-"], printed), await pfctl(["-n", "-R", "-f", "-"], bare.text)];
    // The answer goes into the run's log whichever it is: it settles PF-FACTS.md §4a's open question.
    console.log(`pfctl -n -R, the printed scrub-anchor line: exit ${asPrinted.exitCode} ${withoutNoise(asPrinted.stderr)}; its bare form: exit ${asBare.exitCode} ${withoutNoise(asBare.stderr)}`);
    expect(asPrinted.exitCode === 0 || asBare.exitCode === 0).toBe(true);
  });
});
