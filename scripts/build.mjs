// Bundles the plugin and its dependencies into dist/limactl-limawan/:
// - main.cjs: one CommonJS file. Commands are dynamic imports in plugin/main.ts, which esbuild
//   turns into modules evaluated only when their command runs;
// - start.cjs: the loader plugin/bin/limactl-limawan and the root-owned copy start
//   (plugin/start.cts);
// - main.cjs.cache: V8's code cache for main.cjs, made by scripts/code-cache.mjs.
// One file read whole, with its code cached, starts faster than ES module chunks compiled on
// every start: `status` went from 2.1-2.2x `node -e 0` to 1.6-1.8x, `plan` from 1.9-2.1x to
// 1.3x, `--version` from 1.3-1.4x to 1.2-1.3x (npm run bench: medians of 15 interleaved runs).
// The compiler and the plugin are also built module by module to dist/compiler and dist/plugin
// (ES modules with source maps) for the golden files, the bench, the darwin suite and tests that
// run a module in a process of its own. esbuild transpiles each file alone (tsc's emit took 7 of
// the build's 9½ s); the types are checked by `npm run lint`, whose isolatedModules makes sure
// every file can be transpiled on its own.
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const OUT = fileURLToPath(new URL("../dist/limactl-limawan/", import.meta.url));

const common = {
  bundle: true,
  minify: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  legalComments: "none",
  logLevel: "warning",
};

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const modules = (ext) =>
  ["compiler", "plugin"].flatMap((dir) =>
    readdirSync(path.join(ROOT, dir), { recursive: true })
      .filter((file) => file.endsWith(ext) && !file.endsWith(".d.ts"))
      .map((file) => path.join(ROOT, dir, file)),
  );
const transpiled = { outdir: path.join(ROOT, "dist"), outbase: ROOT, platform: "node", target: "node20", sourcemap: true, logLevel: "warning" };
await build({ ...transpiled, entryPoints: modules(".ts"), format: "esm" });
await build({ ...transpiled, entryPoints: modules(".cts"), format: "cjs", outExtension: { ".js": ".cjs" } });

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
await build({
  ...common,
  entryPoints: [fileURLToPath(new URL("../plugin/start.cts", import.meta.url))],
  outfile: path.join(OUT, "start.cjs"),
});
// start.cjs reads the build ID from the bundle's first line; it is filled in below, where the
// bundle's hash is known, in place of the same number of zeros (the source map's columns stay true).
const { BUILD_ID_PREFIX } = createRequire(import.meta.url)(path.join(OUT, "start.cjs"));
const PLACEHOLDER = "0".repeat(16);
const bundled = await build({
  ...common,
  entryPoints: [fileURLToPath(new URL("../plugin/main.ts", import.meta.url))],
  outfile: path.join(OUT, "main.cjs"),
  write: false,
  // Function names are minified too; main.cjs.map maps a --verbose stack trace back to the source.
  keepNames: false,
  sourcemap: "linked",
  banner: { js: `${BUILD_ID_PREFIX}${PLACEHOLDER}\n"use strict";\nconst __limawanUrl = require("node:url").pathToFileURL(__filename).href;` },
  define: { __LIMAWAN_VERSION__: JSON.stringify(version), "import.meta.url": "__limawanUrl" },
  // yaml's "node" export is CommonJS: esbuild wraps it whole and evaluates all of it on first
  // use (~11 ms of every status). Its ES module build (the same code, published for bundlers
  // as "default") is tree-shaken and evaluated per module.
  alias: { yaml: path.join(path.dirname(fileURLToPath(import.meta.resolve("yaml/package.json"))), "browser/index.js") },
});
for (const file of bundled.outputFiles) {
  let text = file.text;
  if (file.path.endsWith(".cjs")) {
    // start.cjs runs the bundle through vm.Script, which has no loader for import(): esbuild
    // turns import() of a module it knows into require, but not import(expression). (A string
    // holding "import(" would stop the build too: loudly, never silently.)
    const at = text.search(/(?<![\w$.])import\(/);
    if (at >= 0) throw new Error(`main.cjs calls import() (${text.slice(Math.max(0, at - 40), at + 40)}): start.cjs cannot run that; import statically or by a literal name`);
    const id = createHash("sha256").update(text).digest("hex").slice(0, PLACEHOLDER.length);
    text = text.replace(`${BUILD_ID_PREFIX}${PLACEHOLDER}`, `${BUILD_ID_PREFIX}${id}`);
  }
  writeFileSync(file.path, text);
}


// In a node of its own, started as the CLI is, so V8's flags match a start's.
execFileSync(process.execPath, [fileURLToPath(new URL("code-cache.mjs", import.meta.url)), OUT], { stdio: "inherit" });
