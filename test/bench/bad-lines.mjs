// A lima.yaml of bad lines, checked as `check` does it (issue 17: 262,000 one-word lines took
// hours while every diagnostic's code frame split the whole file again, and `up` and the watch
// daemon rendered them holding the state lock). The built compiler compiles files of each shape
// from 1/8 MiB to 1 MiB (the largest it reads) and renders their diagnostics, sorted, as Output
// does (the first 50 of the file, then how many more). Printed: the time per check at 1 MiB, the
// throughput in MiB/s, and the growth exponent k (time ∝ size^k: 1 linear, 2 quadratic).
import { countDiagnostics, sortDiagnostics } from "../../dist/compiler/diagnostic.js";
import { compileFile } from "../../dist/compiler/pipeline.js";
import { renderDiagnostics } from "../../dist/compiler/render-diagnostics.js";

const MIB = 1024 * 1024;
const SIZES = [MIB / 8, MIB / 4, MIB / 2, MIB - 64];
const TRIALS = 5;

/** Shapes of bad line, each repeated to fill a file of about `bytes`. */
const SHAPES = {
  "one-word lines (LW011)": { head: "x-limawan: |\n", line: "  x\n" },
  "syntax errors (LW010)": { head: "x-limawan: |\n", line: "  expose 22 as\n" },
  "one host port again and again (LW104)": { head: "x-limawan: |\n", line: (i) => `  expose f${i} 80 as 8080\n` },
  "list items, one word each (LW011)": { head: "x-limawan:\n", line: "  - x\n" },
};

function fill({ head, line }, bytes) {
  const parts = [head];
  let size = head.length;
  for (let i = 0; ; i++) {
    const next = typeof line === "function" ? line(i) : line;
    if (size + next.length > bytes) break;
    parts.push(next);
    size += next.length;
  }
  return parts.join("");
}

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

/** compile + render, as `check` does; returns [ms, problems found]. */
function check(text) {
  const start = performance.now();
  const { diagnostics } = compileFile({ vm: "bench", file: "bench/lima.yaml", text });
  renderDiagnostics(sortDiagnostics(diagnostics), new Map([["bench/lima.yaml", text]]));
  const { errors } = countDiagnostics(diagnostics);
  return [performance.now() - start, errors];
}

export function run() {
  console.log(`\nA lima.yaml of bad lines, compiled and its diagnostics rendered (median of ${TRIALS}; 1/8 MiB to 1 MiB)`);
  for (const [name, shape] of Object.entries(SHAPES)) {
    const texts = SIZES.map((bytes) => fill(shape, bytes));
    for (const text of texts) check(text); // let the JIT settle
    const times = texts.map((text) => median(Array.from({ length: TRIALS }, () => check(text)[0])));
    const [ms, problems] = [times.at(-1), check(texts.at(-1))[1]];
    const exponent = Math.log(times.at(-1) / times[0]) / Math.log(texts.at(-1).length / texts[0].length);
    console.log(
      `  ${name.padEnd(40)} ${problems.toLocaleString("en").padStart(7)} errors in 1 MiB: ${ms.toFixed(0).padStart(5)} ms, ` +
        `${(texts.at(-1).length / MIB / (ms / 1000)).toFixed(2).padStart(5)} MiB/s, growth exponent k = ${exponent.toFixed(2)}`,
    );
  }
}

if (import.meta.url === new URL(`file://${process.argv[1]}`).href) run();
