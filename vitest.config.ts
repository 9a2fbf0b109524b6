// `npm test`: everything that is safe anywhere. test/darwin changes the kernel's PF and runs
// only through `npm run test:darwin` (its own config); test/bench through `npm run bench`.
// A tier this platform cannot run (test/tiers.ts: the e2e sandbox needs Linux) is left out with
// one printed line, and test/tiers.test.ts reports it as a skipped test with its reason.
import { availableParallelism } from "node:os";
import { configDefaults, defineConfig } from "vitest/config";
import { fileURLToPath } from "node:url";
import { SANDBOX_TIER, skippedTiers, skipNotice, unreadableCheckout } from "./test/tiers.js";

const skipped = skippedTiers(process.platform);
for (const tier of skipped) process.stderr.write(`${skipNotice(tier)}\n`);
// A checkout the VM user cannot read: the sandbox tier is left out, and test/tiers.test.ts fails
// once with the reason (not every e2e test with the same one).
const unreadable = process.getuid?.() === 0 && skipped.length === 0 ? unreadableCheckout(fileURLToPath(new URL(".", import.meta.url))) : null;
if (unreadable) {
  process.stderr.write(`npm test: the ${SANDBOX_TIER.name} tier cannot run from this checkout: ${unreadable}\n`);
  skipped.push({ tier: SANDBOX_TIER, reason: unreadable });
}

const exclude = [...configDefaults.exclude, "test/darwin/**", ...skipped.flatMap(({ tier }) => tier.files)];
/** Files that drive processes (the built CLI, stand-ins, real limactl, the darwin runner): each in a fresh module graph. */
const PROCESS_TIERS = ["test/e2e/**", "test/standins/**", "test/real-lima/**", "test/darwin-session/**"];

export default defineConfig({
  test: {
    // Tests that start several stand-in processes take 5 s alone on a shared 2-core runner;
    // files that need more set their own budget (vi.setConfig).
    testTimeout: 20_000,
    // The end-to-end files spend their time starting stand-in processes, not in the worker:
    // one worker per core (vitest's default leaves one core idle) halves the wall time.
    maxWorkers: availableParallelism(),
    projects: [
      {
        extends: true,
        // In-process tests (unit, property, golden): pure functions and in-process adapters, no
        // module-level state between files and no mocks, so one module graph per worker serves
        // them all. Isolating each file re-imported the compiler, yaml and fast-check 55 times:
        // half of this tier's CPU time.
        test: { name: "unit", include: ["test/**/*.test.ts"], exclude: [...exclude, ...PROCESS_TIERS], isolate: false },
      },
      { extends: true, test: { name: "e2e", include: PROCESS_TIERS.map((dir) => `${dir.slice(0, -3)}/**/*.test.ts`), exclude } },
    ],
  },
});
