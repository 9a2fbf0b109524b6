// `npm run bench`: benchmarks of the BUILT code (dist/), printed, never asserted.
//
// Compile throughput: generated lima.yaml files of 100, 1,000 and 10,000 forwards go through
// the whole compiler — YAML extraction, Peggy parse, lowering, validation, PF emission — and
// the time per compile, forwards per second, the garbage collector's share and the growth
// ratios between sizes are printed. Linear growth shows as ratios near 10 (each size is ten
// times the one before) and a growth exponent near 1.
//
// Other benchmarks plug in at BENCHES below: a module exporting `run()` (sync or async) that
// prints its own lines, e.g. a watcher-reaction bench in test/bench/watch.mjs. (The watcher's
// reaction time currently runs through vitest: test/bench/watch.reaction.ts, see package.json.)
import { performance, PerformanceObserver } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
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
 * Time the compiler on each size and print the per-compile cost and the growth ratios.
 *
 * Each trial compiles the same 100,000 forwards at every size (1,000 runs of 100 … 10 runs of
 * 10,000) in one timed loop, and the per-compile cost is that loop's time divided by its runs:
 * garbage collection is part of what a compile costs, and a median of single runs would leave
 * it out at small sizes (most 100-forward runs see no collection at all) while every
 * 10,000-forward run pays for several. Sizes are interleaved within a trial so that drift in
 * the machine's load hits them alike; the median trial is reported, with the median single run
 * beside it for reference. The garbage collector's share (V8's own gc events) is printed too:
 * it is the part that grows faster than the forwards (survivors of a young-generation
 * collection are copied, and at 10,000 forwards a compile's data lives long enough to be).
 * Returns Map(size → per-compile milliseconds).
 */
export async function benchCompile({ sizes = SIZES, forwardsPerSize = 100_000, trials = 5, warmups = 5, log = console.log } = {}) {
  const texts = new Map(sizes.map((size) => [size, generatedLimaYaml(size)]));
  const perCompile = new Map(sizes.map((size) => [size, []]));
  const gcPerCompile = new Map(sizes.map((size) => [size, []]));
  const singleRuns = new Map(sizes.map((size) => [size, []]));
  const gcEvents = [];
  const observer = new PerformanceObserver((list) => gcEvents.push(...list.getEntries()));
  observer.observe({ entryTypes: ["gc"] });
  for (const [size, text] of texts) for (let i = 0; i < warmups; i++) compileOnce(text); // let the JIT settle
  for (let trial = 0; trial < trials; trial++) {
    for (const [size, text] of texts) {
      const runs = Math.max(1, Math.ceil(forwardsPerSize / size));
      const loopStart = performance.now();
      for (let i = 0; i < runs; i++) {
        const start = performance.now();
        compileOnce(text);
        singleRuns.get(size).push(performance.now() - start);
      }
      const loopEnd = performance.now();
      perCompile.get(size).push((loopEnd - loopStart) / runs);
      await sleep(0); // gc entries are delivered on the event loop
      const gc = gcEvents.filter((e) => e.startTime >= loopStart && e.startTime < loopEnd).reduce((sum, e) => sum + e.duration, 0);
      gcPerCompile.get(size).push(gc / runs);
    }
  }
  observer.disconnect();
  const result = new Map();
  const withoutGc = new Map();
  for (const [size, text] of texts) {
    const ms = median(perCompile.get(size));
    result.set(size, ms);
    withoutGc.set(size, median(perCompile.get(size).map((total, i) => total - gcPerCompile.get(size)[i])));
    const throughput = Math.round((size / ms) * 1000).toLocaleString("en");
    const runs = Math.max(1, Math.ceil(forwardsPerSize / size));
    const gc = median(gcPerCompile.get(size));
    log(
      `compile ${size.toLocaleString("en").padStart(6)} forwards: ${ms.toFixed(2).padStart(8)} ms per compile, ${throughput.padStart(9)} forwards/s, ` +
        `GC ${((100 * gc) / ms).toFixed(0).padStart(2)}%  (median single run ${median(singleRuns.get(size)).toFixed(2)} ms; ${trials} trials of ${runs} runs; ${(text.length / 1024).toFixed(0)} KiB of lima.yaml)`,
    );
  }
  for (let i = 1; i < sizes.length; i++) {
    const [small, large] = [sizes[i - 1], sizes[i]];
    log(
      `time(${large.toLocaleString("en")}) / time(${small.toLocaleString("en")}) = ${(result.get(large) / result.get(small)).toFixed(1)}  (linear: ${large / small}; ` +
        `${(withoutGc.get(large) / withoutGc.get(small)).toFixed(1)} without the garbage collector's time)`,
    );
  }
  // One number for the whole span: t ∝ n^k, k = 1 for linear (n log n over 100…10,000 gives ~1.1).
  const [first, last] = [sizes[0], sizes[sizes.length - 1]];
  const exponent = Math.log(result.get(last) / result.get(first)) / Math.log(last / first);
  log(`growth exponent k (time ∝ forwards^k) from ${first.toLocaleString("en")} to ${last.toLocaleString("en")}: ${exponent.toFixed(2)}`);
  return result;
}

/** Benchmarks run after the compile benchmark: module paths relative to this file, each exporting run(). */
const BENCHES = [
  "./keys.mjs",
  "./bad-lines.mjs",
  "./startup.mjs",
];

export async function main() {
  console.log("LimaWAN compile benchmark (built compiler, dist/)");
  await benchCompile();
  for (const bench of BENCHES) {
    const { run } = await import(new URL(bench, import.meta.url).href);
    await run();
  }
}

if (import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  await main();
}
