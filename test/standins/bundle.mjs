// The node programs the stand-ins still start per call or per VM — limactl's commands that wait or
// stream (start, stop, watch: lib/served.bash hands them to node) and the host agents — as one
// file each in bundled/: node then reads one file instead of resolving and loading ~60 modules
// (the yaml package's among them), which took ~40% of such a start's CPU. The e2e harness makes
// them once per test process, from the sources as they are, and sets LIMACTL_STANDIN_BUNDLED=1;
// without that variable served.bash runs the sources, so a bundle left from an older run is never
// used. bundled/ is a sibling of bin/ and lib/, so what the code finds next to itself
// (`../bin/`, `./hostagent.mjs`) is the same.
import { buildSync } from "esbuild";
import { mkdirSync, renameSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const HERE = fileURLToPath(new URL(".", import.meta.url));
export const BUNDLE_DIR = path.join(HERE, "bundled");
const ENTRIES = { limactl: "lib/limactl-process.mjs", hostagent: "lib/hostagent.mjs" };
// `bundled/limactl watch --json` in ps reads as bin/limactl's did (a test finds the watcher's stream by it).
const FILES = { limactl: "limactl", hostagent: "hostagent.mjs" };

let made = false;
/** Write bundled/limactl and bundled/hostagent.mjs (atomically: test workers may race). */
export function bundleStandins() {
  if (made) return;
  mkdirSync(BUNDLE_DIR, { recursive: true, mode: 0o755 });
  for (const [name, entry] of Object.entries(ENTRIES)) {
    const temporary = path.join(BUNDLE_DIR, `.${name}.${process.pid}.mjs`);
    buildSync({
      entryPoints: [path.join(HERE, entry)],
      outfile: temporary,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      logLevel: "warning",
      // yaml's "node" export is CommonJS and requires node's builtins: give the bundle a require.
      banner: { js: 'import { createRequire as standinRequire } from "node:module"; const require = standinRequire(import.meta.url);' },
    });
    renameSync(temporary, path.join(BUNDLE_DIR, FILES[name]));
  }
  made = true;
}
