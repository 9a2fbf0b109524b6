// The tiers of `npm test` (test/tiers.ts): a tier this platform cannot run shows up in every
// report as a skipped test named with its reason; the sandbox tier lists every file that makes
// a sandbox, so a new one is never left to fail on macOS; and what a platform skips is decided
// by the platform alone.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { SANDBOX_TIER, skippedTiers, skipNotice, TIERS, unreadableCheckout } from "./tiers.js";

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

describe("this checkout", () => {
  // Fails once, saying why, where every e2e test would fail alike (vitest.config.ts leaves them out).
  it.runIf(process.getuid?.() === 0 && skippedTiers(process.platform).length === 0)("the sandbox's VM user can read what it runs from it (private parent directories are fine)", () => {
    expect(unreadableCheckout(REPO)).toBeNull();
  });
});

describe("test/tiers.ts", () => {
  it("the sandbox tier is exactly the test files that make a sandbox (createSandbox)", () => {
    const making = testFiles("test").filter((file) => /\bcreateSandbox\(/.test(readFileSync(path.join(REPO, file), "utf8")));
    expect([...SANDBOX_TIER.files].sort()).toEqual(making.sort());
  });

  it("a checkout with a file only its owner may read is named, with what to do; private parents are not", () => {
    const root = mkdtempSync(path.join(os.tmpdir(), "limawan-tiers-"));
    try {
      const repo = path.join(root, "clone");
      for (const dir of ["plugin/bin", "dist/limactl-limawan"]) mkdirSync(path.join(repo, dir), { recursive: true, mode: 0o755 });
      chmodSync(repo, 0o755);
      writeFileSync(path.join(repo, "plugin/bin/limactl-limawan"), "", { mode: 0o755 });
      writeFileSync(path.join(repo, "dist/limactl-limawan/main.cjs"), "", { mode: 0o644 });
      chmodSync(root, 0o700); // the clone's parent: private, as mktemp -d makes it
      expect(unreadableCheckout(repo)).toBeNull();
      chmodSync(path.join(repo, "dist/limactl-limawan/main.cjs"), 0o600);
      expect(unreadableCheckout(repo)).toMatch(/uid 65534, who cannot read .*main\.cjs \(mode 600\): clone with umask 022/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("macOS skips the sandbox tier, saying why; Linux skips nothing", () => {
    expect(skippedTiers("darwin")).toEqual([{ tier: SANDBOX_TIER, reason: expect.stringMatching(/^skipped on macOS: .*mount namespace.*uid 65534.*SIP.*npm run test:darwin/) }]);
    expect(skipNotice(skippedTiers("darwin")[0]!)).toMatch(new RegExp(`^npm test: the sandbox tier \\(${SANDBOX_TIER.files.length} files\\) is skipped on macOS: `));
    expect(skippedTiers("linux")).toEqual([]);
  });
});
