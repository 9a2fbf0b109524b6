// `npm run bench`: compile throughput of the built compiler (extract → parse → lower →
// validate → emit) on generated lima.yaml files of 100, 1,000 and 10,000 forwards. Prints
// medians and ratios, asserts nothing. (The watcher's reaction time: watch.reaction.ts.)
import { performance } from "node:perf_hooks";
import { emitAnchor } from "../../dist/compiler/emit-pf.js";
import { compileFile } from "../../dist/compiler/pipeline.js";

export function generatedLimaYaml(forwards) {
  const lines = ["networks:", "  - lima: shared", "x-limawan: |", "  interface en0"];
  for (let i = 0; i < forwards; i++) {
    const host = 10_000 + i * 2;
    const options = i % 3 === 0 ? ` from 203.0.113.${i % 250}/32` : i % 3 === 1 ? " limit 5/30s max 20" : " log";
    lines.push(`  expose f${i} ${1024 + (i % 50_000)}${i % 7 === 0 ? "/tcp+udp" : ""} as ${host}${options}`);
  }
  return `${lines.join("\n")}\n`;
}

function compileOnce(text) {
  const result = compileFile({ vm: "bench", file: "bench.yaml", text });
  if (!result.spec) throw new Error(`bench input has diagnostics: ${JSON.stringify(result.diagnostics.slice(0, 2))}`);
  const emitted = emitAnchor([{ spec: result.spec, address: "192.168.105.2" }], { defaultInterfaces: ["en0"] });
  if (!emitted.ok) throw new Error("emit failed");
  return emitted.text.length;
}

export function benchCompile(sizes = [100, 1_000, 10_000]) {
  const medians = new Map();
  for (const size of sizes) {
    const text = generatedLimaYaml(size);
    // The same work per size (100,000 forwards compiled): small sizes are not flattered by a
    // heap that never fills, large ones get enough runs for a stable median.
    const runs = Math.max(7, Math.ceil(100_000 / size));
    for (let i = 0; i < 5; i++) compileOnce(text); // warm-up: let the JIT settle before timing
    const times = [];
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      compileOnce(text);
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)];
    medians.set(size, median);
    console.log(`compile ${String(size).padStart(6)} forwards: median ${median.toFixed(1).padStart(7)} ms  (${Math.round((size / median) * 1000).toLocaleString("en")} forwards/s, ${runs} runs)`);
  }
  for (let i = 1; i < sizes.length; i++) {
    const ratio = medians.get(sizes[i]) / medians.get(sizes[i - 1]);
    console.log(`time(${sizes[i]}) / time(${sizes[i - 1]}) = ${ratio.toFixed(1)}  (linear growth: ${sizes[i] / sizes[i - 1]})`);
  }
  return medians;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchCompile(); // the watcher's reaction time follows: test/bench/watch.reaction.ts
}
