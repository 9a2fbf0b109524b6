// The real-PF suite, run only by `npm run test:darwin` (test/darwin/run.mjs), inside the PF
// session that script opens. One file at a time in one process: PF is one shared kernel state.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: ".",
    include: ["test/darwin/**/*.test.ts"],
    // PF's state at each failed test, on a recording run (failure-evidence.ts).
    setupFiles: ["test/darwin/failure-evidence.ts"],
    fileParallelism: false,
    pool: "forks",
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
