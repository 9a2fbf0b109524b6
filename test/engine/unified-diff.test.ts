// The diffs harden --dry-run prints: `diff -u`'s format, and a patch that turns the old text
// into the new one, whatever the texts.
import { execaSync } from "execa";
import fc from "fast-check";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { unifiedDiff } from "../../plugin/engine/unified-diff.js";

/** Apply a unified diff to `before` (hunks in order, context checked), as patch(1) does; texts end in a newline. */
function applyPatch(before: string, diff: string): string | null {
  const lines = diff.trimEnd().split("\n");
  if (lines[1] === "+++ /dev/null") return null;
  const old = before === "" ? [] : before.replace(/\n$/, "").split("\n");
  const out: string[] = [];
  let at = 0;
  for (const line of lines.slice(2)) {
    const hunk = /^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@$/.exec(line);
    if (hunk) {
      const start = Number(hunk[1]) - (hunk[2] === "0" ? 0 : 1);
      while (at < start) out.push(old[at++]!);
      continue;
    }
    const [kind, text] = [line[0], line.slice(1)];
    if (kind === " " || kind === "-") {
      if (old[at] !== text) throw new Error(`context mismatch at old line ${at + 1}: ${JSON.stringify(old[at])} vs ${JSON.stringify(text)}`);
      at++;
    }
    if (kind === " " || kind === "+") out.push(text);
  }
  while (at < old.length) out.push(old[at++]!);
  return out.length > 0 ? `${out.join("\n")}\n` : "";
}

describe("unifiedDiff", () => {
  it("prints what diff -u prints (headers aside): context, hunk ranges, hunks merged when their contexts touch", () => {
    const numbers = Array.from({ length: 30 }, (_, i) => `${i + 1}`).join("\n") + "\n";
    const cases = [
      ["a\nb\nc\nd\ne\nf\ng\nh\n", "a\nb\nc\nD\ne\nf\ng\nh\n"],
      [numbers, numbers.replace("\n10\n", "\nX\n").replace("\n17\n", "\nY\n")], // six unchanged lines between: one hunk
      [numbers, numbers.replace("\n10\n", "\nX\n").replace("\n18\n", "\nY\n")], // seven: two
      [numbers, numbers.replace("1\n2\n", "").replace("\n30\n", "\n30\n31\n")],
    ] as const;
    expect(unifiedDiff(cases[0][0], cases[0][1], "/etc/x")).toBe("--- a/etc/x\n+++ b/etc/x\n@@ -1,7 +1,7 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n");
    const dir = mkdtempSync(path.join(os.tmpdir(), "limawan-diff-"));
    try {
      for (const [before, after] of cases) {
        writeFileSync(path.join(dir, "old"), before);
        writeFileSync(path.join(dir, "new"), after);
        const gnu = execaSync("diff", ["-u", "old", "new"], { cwd: dir, reject: false }).stdout;
        expect(unifiedDiff(before, after, "/f").split("\n").slice(2).join("\n").trimEnd()).toBe(gnu.split("\n").slice(2).join("\n"));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a created file is diffed from /dev/null, a removed one to it; equal texts give nothing", () => {
    expect(unifiedDiff(null, "x\ny\n", "/etc/new.conf")).toBe("--- /dev/null\n+++ b/etc/new.conf\n@@ -0,0 +1,2 @@\n+x\n+y\n");
    expect(unifiedDiff("x\n", null, "/etc/old.conf")).toBe("--- a/etc/old.conf\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n");
    expect(unifiedDiff("same\n", "same\n", "/f")).toBe("");
  });

  it("marks a missing final newline", () => {
    expect(unifiedDiff("a\nb", "a\nb\n", "/f")).toBe("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n");
  });

  it("is a patch: applied to the old text it gives the new one", () => {
    const text = fc.array(fc.constantFrom("a", "b", "c", "# comment", "Port 22", ""), { maxLength: 25 }).map((lines) => (lines.length ? `${lines.join("\n")}\n` : ""));
    fc.assert(
      fc.property(text, text, (before, after) => {
        const diff = unifiedDiff(before, after, "/f");
        expect(diff === "" ? before : applyPatch(before, diff)).toBe(after);
      }),
      { numRuns: 300 },
    );
  });
});
