// `npm run bench` runs the watcher reaction benchmark through vitest (it drives the e2e
// harness); these files are not tests and `npm test` does not pick them up.
import { defineConfig } from "vitest/config";

export default defineConfig({ test: { include: ["test/bench/*.reaction.ts"], root: ".", testTimeout: 180_000 } });
