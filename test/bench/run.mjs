// `npm run bench`: benchmarks of the BUILT code (dist/), printed, never asserted.
//
// Compile throughput: generated lima.yaml files of 100, 1,000 and 10,000 forwards go through
// the whole compiler — YAML extraction, Peggy parse, lowering, validation, PF emission — and
// the median time per size, forwards per second and the growth ratios between sizes are
// printed. Linear growth shows as ratios near 10 (each size is ten times the one before).
//
// Other benchmarks plug in at BENCHES below: a module exporting `run()` (sync or async) that
// prints its own lines, e.g. a watcher-reaction bench in test/bench/watch.mjs. (The watcher's
// reaction time currently runs through vitest: test/bench/watch.reaction.ts, see package.json.)
import { performance } from "node:perf_hooks";
import { emitAnchor } from "../../dist/compiler/emit-pf.js";
import { compileFile } from "../../dist/compiler/pipeline.js";

export const SIZES = [100, 1_000, 10_000];

/**
 * A lima.yaml whose annotation has `forwards` valid forwards in every shape the DSL has: single
 * ports and ranges, tcp, udp and tcp+udp, source lists, interfaces, limit, max and log, comments.
 * Host ports are laid out without overlap (2 per forward from 10,000, ranges of 4 ports above
 * 40,000), so the whole file compiles without a diagnostic.
 */
export function generatedLimaYaml(forwards) {
  const lines = ["# generated for the benchmark", "networks:", "  - lima: shared", "x-limawan: |", "  interface en0", "  allow from 198.51.100.0/24"];
  let rangeHost = 40_000;
  for (let i = 0; i < forwards; i++) {
    const guest = 1024 + (i % 50_000);
    switch (i % 6) {
      case 0:
        lines.push(`  expose f${i} ${guest} as ${10_000 + i * 2} from 203.0.113.${i % 250}/32, 192.0.2.0/24`);
        break;
      case 1:
        lines.push(`  expose f${i} ${guest} as ${10_000 + i * 2} limit 5/30s max 20   # guarded`);
        break;
      case 2:
        lines.push(`  expose f${i} ${guest}/udp as ${10_000 + i * 2} on en0, en1`);
        break;
      case 3:
        lines.push(`  expose f${i} ${guest}/tcp+udp as ${10_000 + i * 2} log`);
        break;
      case 4: {
        // Ranges take 4 host ports each from 40,000 (up to 46,668 at 10,000 forwards), clear of
        // the single ports (10,000–29,998).
        lines.push(`  expose f${i} ${guest}-${guest + 3} as ${rangeHost}-${rangeHost + 3} limit 10/1m`);
        rangeHost += 4;
        break;
      }
      default:
        lines.push(`  expose ${guest} as ${10_000 + i * 2}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** Compile one file to anchor text, as `plan` does; returns the anchor's length. */
export function compileOnce(text) {
  const result = compileFile({ vm: "bench", file: "bench/lima.yaml", text });
  if (!result.spec) throw new Error(`bench input has diagnostics: ${JSON.stringify(result.diagnostics.slice(0, 2))}`);
  const emitted = emitAnchor([{ spec: result.spec, address: "192.168.105.2" }], { defaultInterfaces: ["en0"] });
  if (!emitted.ok) throw new Error(`bench input does not emit: ${JSON.stringify(emitted.diagnostics.slice(0, 2))}`);
  return emitted.text.length;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * Time the compiler on each size and print the medians and ratios. Every size compiles the
 * same 100,000 forwards in total (1,000 runs of 100 … 10 runs of 10,000, at least `minRuns`):
 * small sizes are not flattered by a heap that never fills, large ones still get a median.
 * Returns Map(size → median milliseconds).
 */
export function benchCompile({ sizes = SIZES, forwardsPerSize = 100_000, minRuns = 11, warmups = 5, log = console.log } = {}) {
  const medians = new Map();
  for (const size of sizes) {
    const text = generatedLimaYaml(size);
    const runs = Math.max(minRuns, Math.ceil(forwardsPerSize / size));
    for (let i = 0; i < warmups; i++) compileOnce(text); // let the JIT settle before timing
    const times = [];
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      compileOnce(text);
      times.push(performance.now() - start);
    }
    const ms = median(times);
    medians.set(size, ms);
    const throughput = Math.round((size / ms) * 1000).toLocaleString("en");
    log(`compile ${size.toLocaleString("en").padStart(6)} forwards: median ${ms.toFixed(2).padStart(8)} ms, ${throughput.padStart(9)} forwards/s  (${runs} runs, ${(text.length / 1024).toFixed(0)} KiB of lima.yaml)`);
  }
  for (let i = 1; i < sizes.length; i++) {
    const [small, large] = [sizes[i - 1], sizes[i]];
    log(`time(${large.toLocaleString("en")}) / time(${small.toLocaleString("en")}) = ${(medians.get(large) / medians.get(small)).toFixed(1)}  (linear: ${large / small})`);
  }
  return medians;
}

/** Benchmarks run after the compile benchmark: module paths relative to this file, each exporting run(). */
const BENCHES = [
  // "./watch.mjs",
];

export async function main() {
  console.log("LimaWAN compile benchmark (built compiler, dist/)");
  benchCompile();
  for (const bench of BENCHES) {
    const { run } = await import(new URL(bench, import.meta.url).href);
    await run();
  }
}

if (import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  await main();
}
