// The darwin suite's setup file (vitest.config.ts). On a recording run (run.mjs hands the tests
// LIMAWAN_EVIDENCE_DIR then), each failed test leaves PF as it was at that moment in
// evidence/darwin-failures/: the session's anchors, the main ruleset, states, status, skip flags
// and references — taken after the test's own cleanup (afterEach) and before its file's afterAll
// empties the anchors, which is exactly what a red run would otherwise lose.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach } from "vitest";
import { giveToSudoUser, pfctl, session } from "./context.js";

const dir = process.env.LIMAWAN_EVIDENCE_DIR ? path.join(process.env.LIMAWAN_EVIDENCE_DIR, "darwin-failures") : null;
// A busy Mac can hold many states: enough of each listing to judge, not a disk's worth.
const MAX_CHARS = 256 * 1024;

const LISTINGS: string[][] = [
  ["-a", session.anchor, "-v", "-s", "rules"],
  ["-a", session.anchor, "-s", "nat"],
  ["-a", session.anchor, "-s", "Tables"],
  ["-a", session.blockAnchor, "-s", "rules"],
  ["-s", "nat"],
  ["-s", "rules"],
  ["-s", "state"],
  ["-s", "info"],
  ["-s", "Interfaces", "-v"],
  ["-s", "References"],
];

const bounded = (text: string) => (text.length > MAX_CHARS ? `${text.slice(0, MAX_CHARS)}\n[… ${text.length - MAX_CHARS} more characters]\n` : text);

afterEach(async ({ task }) => {
  if (!dir || task.result?.state !== "fail") return;
  const parts: string[] = [`${task.file.name} › ${task.name}\n${new Date().toISOString()}\n`];
  for (const args of LISTINGS) {
    const r = await pfctl(args);
    parts.push(`\n===== pfctl ${args.join(" ")} (exit ${r.exitCode})\n${bounded(r.stdout)}----- stderr\n${bounded(r.stderr)}`);
  }
  mkdirSync(dir, { recursive: true });
  giveToSudoUser(dir);
  const name = `${path.basename(task.file.name, ".test.ts")}--${task.name}`.replace(/[^A-Za-z0-9._-]+/g, "-").slice(0, 120);
  const file = path.join(dir, `${name}.txt`);
  writeFileSync(file, parts.join(""));
  giveToSudoUser(file);
});
