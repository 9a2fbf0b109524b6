// Bundles the plugin and its dependencies into dist/limactl-limawan/: main.js, which
// plugin/bin/limactl-limawan starts, and the chunks it loads. Commands are dynamic imports in
// plugin/main.ts, so each command's code and its dependencies sit in chunks that are read only
// when that command runs. One file would be read and compiled whole on every start: `--version`
// took 1.45x `node -e 0` as one file against 1.05x split (median of 15, npm run bench).
// The compiler is also built to dist/ by tsc (npm run build) for the golden files and the bench.
import { build } from "esbuild";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

rmSync(new URL("../dist/limactl-limawan/", import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: [fileURLToPath(new URL("../plugin/main.ts", import.meta.url))],
  outdir: fileURLToPath(new URL("../dist/limactl-limawan/", import.meta.url)),
  entryNames: "[name]",
  chunkNames: "chunks/[name]-[hash]",
  splitting: true,
  bundle: true,
  minify: true,
  // Stack traces (--verbose) still name our functions.
  keepNames: false,
  sourcemap: "linked",
  platform: "node",
  target: "node20",
  format: "esm",
  // Some dependencies are CommonJS: require() for Node's own modules, __filename; .js files in
  // dist/limactl-limawan/ are ES modules by its own package.json.
  banner: {
    js: [
      'import { createRequire as __limawanRequire } from "node:module";',
      'import { fileURLToPath as __limawanPath } from "node:url";',
      "const require = __limawanRequire(import.meta.url);",
      "const __filename = __limawanPath(import.meta.url);",
      'const __dirname = __limawanPath(new URL(".", import.meta.url));',
    ].join(" "),
  },
  define: { __LIMAWAN_VERSION__: JSON.stringify(version) },
  // yaml's "node" export is CommonJS: esbuild wraps it whole and evaluates all of it on first
  // use (~11 ms of every status). Its ES module build (the same code, published for bundlers
  // as "default") is tree-shaken and evaluated per module.
  alias: { yaml: path.join(path.dirname(fileURLToPath(import.meta.resolve("yaml/package.json"))), "browser/index.js") },
  legalComments: "none",
  logLevel: "warning",
});

writeFileSync(new URL("../dist/limactl-limawan/package.json", import.meta.url), `${JSON.stringify({ type: "module" })}\n`);
