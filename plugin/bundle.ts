// Where the running bundle is (dist/limactl-limawan/, or the root-owned copy install made):
// `install` copies it. Chunks sit one level below the bundle's main.js.
import path from "node:path";
import { fileURLToPath } from "node:url";

export function bundleDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.basename(here) === "chunks" ? path.dirname(here) : here;
}
