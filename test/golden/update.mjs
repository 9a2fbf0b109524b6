// `npm run golden`: rewrite test/golden/*.pf from the built compiler, one per sample. Review
// the diff before committing: these files are the compiler's expected output.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { goldenFor } from "./render.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const samples = path.join(here, "..", "..", "samples");
for (const file of readdirSync(samples).filter((f) => f.endsWith(".yaml")).sort()) {
  const { name, text } = goldenFor(path.join(samples, file), readFileSync(path.join(samples, file), "utf8"));
  writeFileSync(path.join(here, name), text);
  console.log(`wrote test/golden/${name}`);
}
