// The compiler's output for every sample, compared byte for byte with the reviewed files in
// test/golden/. After an intended change: `npm run golden`, then review the diff.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { goldenFor } from "../golden/render.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const samples = readdirSync(path.join(root, "samples")).filter((f) => f.endsWith(".yaml")).sort();

describe("golden output", () => {
  it.each(samples)("%s compiles to its golden file", (sample) => {
    const { name, text } = goldenFor(path.join(root, "samples", sample), readFileSync(path.join(root, "samples", sample), "utf8"));
    const golden = readFileSync(path.join(root, "test", "golden", name), "utf8");
    expect(text, `test/golden/${name} differs: run \`npm run golden\` and review the diff`).toBe(golden);
  });
});
