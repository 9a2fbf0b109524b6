// Where the running bundle is (dist/limactl-limawan/, or the root-owned copy install made):
// `install` copies it. import.meta.url is the bundle's own main.cjs (scripts/build.mjs).
import path from "node:path";
import { fileURLToPath } from "node:url";

export function bundleDir(): string {
  return path.dirname(fileURLToPath(import.meta.url));
}
