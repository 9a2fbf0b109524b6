// Whether the built loader in a bundle directory compiles its bundle with the V8 code cache, asked
// of a node of its own (flags as a start has them): for the start-up tests and the bench.
import { execFileSync } from "node:child_process";
import path from "node:path";

export function codeCacheUsed(bundleDir, env = { PATH: process.env.PATH }) {
  const start = path.join(bundleDir, "start.cjs");
  return execFileSync(process.execPath, ["-e", `process.stdout.write(String(require(${JSON.stringify(start)}).loadBundle().cacheUsed))`], { env, encoding: "utf8" }) === "true";
}
