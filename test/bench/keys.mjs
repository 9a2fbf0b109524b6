// Reading a large lima.yaml (issue 12: 40,000 top-level keys took 10 s while each key was
// compared with every earlier one). The built compiler reads files of 10,000 to 80,000 `kN: v`
// keys (up to 780 KB, under the 1 MiB limit) beside a one-line annotation; the time per read and
// the growth exponent k (time ∝ keys^k; 1 = linear, 2 = the old quadratic check) are printed.
import { compileFile } from "../../dist/compiler/pipeline.js";

const SIZES = [10_000, 20_000, 40_000, 80_000];
const TRIALS = 5;

const text = (keys) => `x-limawan: |\n  expose web 80 as 8080\n${Array.from({ length: keys }, (_, i) => `k${i}: v\n`).join("")}`;
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

export function run() {
  const times = new Map();
  for (const size of SIZES) {
    const source = text(size);
    const samples = [];
    for (let i = 0; i < TRIALS; i++) {
      const start = performance.now();
      const result = compileFile({ vm: "bench", file: "bench/lima.yaml", text: source });
      samples.push(performance.now() - start);
      if (!result.spec) throw new Error(`bench input has diagnostics: ${JSON.stringify(result.diagnostics.slice(0, 2))}`);
    }
    times.set(size, median(samples));
  }
  console.log(`\nLarge lima.yaml (top-level keys beside the annotation; median of ${TRIALS})`);
  for (const [size, ms] of times) console.log(`  ${size.toLocaleString("en").padStart(6)} keys: ${ms.toFixed(0).padStart(5)} ms per read`);
  const [first, last] = [SIZES[0], SIZES[SIZES.length - 1]];
  const exponent = Math.log(times.get(last) / times.get(first)) / Math.log(last / first);
  console.log(`  growth exponent k (time ∝ keys^k) from ${first.toLocaleString("en")} to ${last.toLocaleString("en")}: ${exponent.toFixed(2)} (linear 1, quadratic 2)`);
}

if (import.meta.url === new URL(`file://${process.argv[1]}`).href) run();
