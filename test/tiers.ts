// Which parts of `npm test` a machine can run. `npm test` runs as root on Linux (development,
// linux.yml) and on macOS (macos.yml's npm-test job, a contributor's Mac). One tier needs Linux:
// the sandbox of test/e2e/harness.ts, a throw-away macOS-shaped host whose CLI runs happen in a
// private mount namespace (`unshare --mount`, overlayfs laid over /usr/sbin and /usr/bin,
// `setpriv`: test/e2e/macos-namespace.sh) that puts the stand-ins where macOS keeps the real
// tools, and whose VM user is uid 65534 made real by setuid-root copies of node. macOS has no
// unshare, setpriv or overlayfs, and System Integrity Protection keeps /usr, /bin and /sbin
// read-only even for root (Apple Platform Support, "Learn how System Integrity Protection
// protects Mac", support.apple.com/guide/platform-support/sup898b4a0db); there the PF facts are
// checked by `npm run test:darwin` instead.
//
// On a platform that cannot run a tier, vitest.config.ts leaves its files out and prints one
// line saying so, and test/tiers.test.ts lists the tier as a skipped test named with the reason,
// so every report (the console, JUnit) shows it: never a failure for the platform, never a
// silent pass.
//
// One thing besides the platform stops the sandbox tier: a checkout whose own files the VM user
// cannot read (cloned with umask 077). Private parent directories are no obstacle (the namespace
// hides them, macos-namespace.sh), but files only their owner may read would fail every e2e
// test alike; instead the tier is left out and test/tiers.test.ts fails once, saying why.
import { statSync } from "node:fs";
import path from "node:path";

export interface TestTier {
  name: string;
  /** The test files, from the repository's root (globs vitest reads literally: no wildcards). */
  files: readonly string[];
  /** Why it cannot run where it is skipped. */
  needs: string;
  /** The platforms (process.platform) it runs on. */
  platforms: readonly NodeJS.Platform[];
}

/** Every test file that makes a sandbox (createSandbox): test/tiers.test.ts keeps the list whole. */
export const SANDBOX_TIER: TestTier = {
  name: "sandbox",
  files: [
    "test/e2e/anchor-points.e2e.test.ts",
    "test/e2e/bad-input.e2e.test.ts",
    "test/e2e/demo.e2e.test.ts",
    "test/e2e/diagnose.e2e.test.ts",
    "test/e2e/doctor.e2e.test.ts",
    "test/e2e/guest-address.e2e.test.ts",
    "test/e2e/guest-output.e2e.test.ts",
    "test/e2e/harden.e2e.test.ts",
    "test/e2e/harness.test.ts",
    "test/e2e/install.e2e.test.ts",
    "test/e2e/monitor.e2e.test.ts",
    "test/e2e/plugin.e2e.test.ts",
    "test/e2e/privilege.e2e.test.ts",
    "test/e2e/router.e2e.test.ts",
    "test/e2e/state-recovery.e2e.test.ts",
    "test/e2e/watch.e2e.test.ts",
    "test/standins/guest.test.ts",
    "test/standins/limactl-server.test.ts",
    "test/standins/standins.test.ts",
  ],
  needs:
    "the e2e sandbox (test/e2e/harness.ts) runs the CLI in a Linux mount namespace (unshare, overlayfs, setpriv) that lays the stand-ins over /usr/sbin and /usr/bin, and plays the VM user as uid 65534 through setuid copies of node; macOS has no such namespace and SIP keeps /usr/sbin and /sbin read-only. `npm run test:darwin` checks the PF facts on a Mac",
  platforms: ["linux"],
};

export const TIERS: readonly TestTier[] = [SANDBOX_TIER];

export interface SkippedTier { tier: TestTier; reason: string }

/** The tiers `platform` cannot run, each with the reason to print. */
export function skippedTiers(platform: NodeJS.Platform, tiers: readonly TestTier[] = TIERS): SkippedTier[] {
  return tiers
    .filter((tier) => !tier.platforms.includes(platform))
    .map((tier) => ({ tier, reason: `skipped on ${platform === "darwin" ? "macOS" : platform}: ${tier.needs}` }));
}

/** The line vitest.config.ts prints for a skipped tier. */
export function skipNotice({ tier, reason }: SkippedTier): string {
  return `npm test: the ${tier.name} tier (${tier.files.length} files) is ${reason}`;
}

/** The VM user of the sandbox (test/e2e/harness.ts) and the real-lima tier: uid/gid 65534, no other groups. */
export const VM_USER = { uid: 65534, gid: 65534 } as const;

/** What the VM user runs from the checkout: the built CLI, and limactl's stand-in with its libraries. */
const RUN_BY_VM_USER = ["plugin/bin/limactl-limawan", "dist/limactl-limawan/main.cjs", "test/standins/bin/limactl", "test/standins/lib/guest.mjs"];

/**
 * Why the VM user cannot run the checkout at `repo` (a file or directory of it only its owner or
 * group may read), or null. Only the checkout's own modes count: its parent directories may be
 * private. A file not there (not built yet) is the harness's to report.
 */
export function unreadableCheckout(repo: string, user: { uid: number; gid: number } = VM_USER): string | null {
  const dirs = new Set<string>([""]);
  for (const file of RUN_BY_VM_USER) for (let dir = path.dirname(file); dir !== "."; dir = path.dirname(dir)) dirs.add(dir);
  for (const relative of [...[...dirs].sort(), ...RUN_BY_VM_USER]) {
    let info;
    try {
      info = statSync(path.join(repo, relative));
    } catch {
      continue;
    }
    const shift = info.uid === user.uid ? 6 : info.gid === user.gid ? 3 : 0;
    const needs = info.isDirectory() ? 0o5 : 0o4;
    if (((info.mode >> shift) & needs) !== needs) {
      return `the e2e sandbox runs the CLI and limactl's stand-in as uid ${user.uid}, who cannot read ${path.join(repo, relative)} (mode ${(info.mode & 0o777).toString(8)}): clone with umask 022, or \`chmod -R o+rX\` the checkout (its parent directories may stay private)`;
    }
  }
  return null;
}
