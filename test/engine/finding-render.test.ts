// One Finding, rendered in one place: doctor's and diagnose's lines as they have always looked,
// and each command's documented JSON fields (docs/DESIGN.md).
import { describe, expect, it } from "vitest";
import { finding } from "../../plugin/engine/finding.js";
import { DIAGNOSE_LAYOUT, DOCTOR_LAYOUT, diagnoseStepJson, doctorCheckJson, findingLines, statusUnreadableJson } from "../../plugin/engine/finding-render.js";

const plain = { pass: (s: string) => s, warn: (s: string) => s, fail: (s: string) => s, unknown: (s: string) => s, skip: (s: string) => s, dim: (s: string) => s };
const marked = { pass: (s: string) => `<g>${s}</g>`, warn: (s: string) => `<y>${s}</y>`, fail: (s: string) => `<r>${s}</r>`, unknown: (s: string) => `<d>${s}</d>`, skip: (s: string) => `<d>${s}</d>`, dim: (s: string) => `<d>${s}</d>` };

describe("findings for people", () => {
  it("doctor: a four-column mark, the title and detail, the fix under it whatever the severity", () => {
    expect(findingLines(finding("pf", "warn", "PF", "disabled", "`up` enables it"), plain, DOCTOR_LAYOUT)).toEqual(["warn  PF: disabled", "      `up` enables it"]);
    expect(findingLines(finding("pf", "pass", "PF", "enabled"), marked, DOCTOR_LAYOUT)).toEqual(["<g>ok  </g>  PF: enabled"]);
    expect(findingLines(finding("pf", "unknown", "PF", "pfctl needs root", "add --sudo"), marked, DOCTOR_LAYOUT)).toEqual(["<d>??  </d>  PF: pfctl needs root", "      <d>add --sudo</d>"]);
  });

  it("diagnose: indented, a seven-column verdict, and `fix:` only where the step warns or fails", () => {
    expect(findingLines(finding("pf-enabled", "fail", "PF enabled", "PF is disabled", "up"), plain, DIAGNOSE_LAYOUT)).toEqual(["  FAIL     PF enabled: PF is disabled", "           fix: up"]);
    expect(findingLines(finding("pf-enabled", "pass", "PF enabled", "enabled", "never shown"), plain, DIAGNOSE_LAYOUT)).toEqual(["  PASS     PF enabled: enabled"]);
  });
});

describe("findings for machines", () => {
  it("doctor's check {name, level, detail, hint?}: a pass is `ok`, no hint when there is no fix", () => {
    expect(doctorCheckJson(finding("lima", "pass", "Lima", "limactl version 2.1.0"))).toEqual({ name: "Lima", level: "ok", detail: "limactl version 2.1.0" });
    expect(doctorCheckJson(finding("state", "unknown", "state", "x", "y", "needs-root"))).toEqual({ name: "state", level: "unknown", detail: "x", hint: "y" });
  });

  it("diagnose's step {id, title, verdict, detail, fix?}, the reason code left out", () => {
    expect(diagnoseStepJson(finding("pf-enabled", "unknown", "PF enabled", "needs root: add --sudo", undefined, "needs-root"))).toEqual({ id: "pf-enabled", title: "PF enabled", verdict: "unknown", detail: "needs root: add --sudo" });
  });

  it("status's unreadable {what, message, needsRoot, code}: needsRoot only for `needs-root`", () => {
    expect(statusUnreadableJson(finding("unreadable", "unknown", "state", "damaged", undefined, "state-damaged"))).toEqual({ what: "state", message: "damaged", needsRoot: false, code: "state-damaged" });
    expect(statusUnreadableJson(finding("unreadable", "unknown", "PF status", "pfctl needs root", undefined, "needs-root"))).toMatchObject({ needsRoot: true });
  });
});
