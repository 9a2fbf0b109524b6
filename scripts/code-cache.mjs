// Makes main.cjs.cache, V8's code cache for the bundle in DIR (node scripts/code-cache.mjs DIR),
// for plugin/start.cts to compile it with. V8 caches the functions that have run, so the bundle
// first plans the bundled sample: commander, the YAML reader and the whole compiler, which every
// command but `--version` runs. That reads only the sample and touches nothing on the host.
// The first line is the bundle's build ID, so a cache is used only with the bundle it was made
// from.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const dir = path.resolve(process.argv[2]);
const require = createRequire(import.meta.url);
const { loadBundle, buildId, CACHE } = require(path.join(dir, "start.cjs"));
const sample = fileURLToPath(new URL("../samples/lima.yaml", import.meta.url));

const id = buildId(readFileSync(path.join(dir, "main.cjs"), "utf8"));
if (!id) throw new Error(`${dir}/main.cjs has no build ID on its first line`);
const bundle = loadBundle(dir, { cache: false });
const printed = [];
const [out, err] = [process.stdout.write, process.stderr.write];
process.stdout.write = process.stderr.write = (chunk) => printed.push(String(chunk)) > 0;
let code;
try {
  code = await bundle.main(["plan", sample, "--name", "web"]);
} finally {
  [process.stdout.write, process.stderr.write] = [out, err];
}
if (code !== 0) {
  process.stderr.write(printed.join(""));
  throw new Error(`planning ${sample} to warm the code cache exited ${code}`);
}
writeFileSync(path.join(dir, CACHE), Buffer.concat([Buffer.from(`${id}\n`, "latin1"), bundle.script.createCachedData()]));

