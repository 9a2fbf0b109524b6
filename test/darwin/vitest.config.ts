// The real-PF suite, run only by `npm run test:darwin` (test/darwin/run.mjs), inside the PF
// session that script opens. One file at a time in one process: PF is one shared kernel state.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: ".",
    include: ["test/darwin/**/*.test.ts"],
    fileParallelism: false,
    pool: "forks",
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
