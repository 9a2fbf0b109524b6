// The tiers of `npm test` (test/tiers.ts): a tier this platform cannot run shows up in every
// report as a skipped test named with its reason; the sandbox tier lists every file that makes
// a sandbox, so a new one is never left to fail on macOS; and what a platform skips is decided
// by the platform alone.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { SANDBOX_TIER, skippedTiers, skipNotice, TIERS } from "./tiers.js";

const REPO = fileURLToPath(new URL("../", import.meta.url));

function testFiles(dir: string): string[] {
  return readdirSync(path.join(REPO, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return relative === "test/darwin" || relative === "test/fixtures" ? [] : testFiles(relative);
    return entry.name.endsWith(".test.ts") ? [relative] : [];
  });
}

describe(`the tiers of npm test on this machine (${process.platform})`, () => {
  const skipped = skippedTiers(process.platform);
  for (const tier of TIERS) {
    const skip = skipped.find((s) => s.tier === tier);
    // A skipped test whose name says why: the console and JUnit reports list it.
    it.skipIf(skip !== undefined)(skip ? skipNotice(skip) : `the ${tier.name} tier runs here: its ${tier.files.length} files exist`, () => {
      for (const file of tier.files) expect(existsSync(path.join(REPO, file)), file).toBe(true);
    });
  }
});

describe("test/tiers.ts", () => {
  it("the sandbox tier is exactly the test files that make a sandbox (createSandbox)", () => {
    const making = testFiles("test").filter((file) => /\bcreateSandbox\(/.test(readFileSync(path.join(REPO, file), "utf8")));
    expect([...SANDBOX_TIER.files].sort()).toEqual(making.sort());
  });

  it("macOS skips the sandbox tier, saying why; Linux skips nothing", () => {
    expect(skippedTiers("darwin")).toEqual([{ tier: SANDBOX_TIER, reason: expect.stringMatching(/^skipped on macOS: .*mount namespace.*uid 65534.*SIP.*npm run test:darwin/) }]);
    expect(skipNotice(skippedTiers("darwin")[0]!)).toMatch(new RegExp(`^npm test: the sandbox tier \\(${SANDBOX_TIER.files.length} files\\) is skipped on macOS: `));
    expect(skippedTiers("linux")).toEqual([]);
  });
});
