// One shape for what status, doctor and diagnose find: a code for machines (what was checked),
// a severity, a title and detail for people, and what to do. Built where the finding is judged
// (pure functions over gathered facts), rendered in one place (finding-render.ts).
import type { ErrorReason } from "../errors.js";

/**
 * pass: fine. warn: works, but worth a look. fail: something needed is wrong (the command exits
 * 1). unknown: a fact could not be read (`cause` says why). skip: not judged, because what it
 * depends on failed or is absent.
 */
export type Severity = "pass" | "warn" | "fail" | "unknown" | "skip";

export interface Finding<Code extends string = string> {
  /** What was checked, stable for machines (`pf-enabled`, `root-copy`). */
  code: Code;
  severity: Severity;
  /** What was checked, for people (`PF enabled`, `root's copy`). */
  title: string;
  detail: string;
  /** What to do about it. */
  fix?: string;
  /** Why it is unknown: the reason code of the read that failed. */
  cause?: ErrorReason;
}

export function finding<Code extends string>(code: Code, severity: Severity, title: string, detail: string, fix?: string, cause?: ErrorReason): Finding<Code> {
  return { code, severity, title, detail, ...(fix ? { fix } : {}), ...(cause ? { cause } : {}) };
}

export const anyFailed = (findings: readonly Finding[]): boolean => findings.some((f) => f.severity === "fail");
export const allKnown = (findings: readonly Finding[]): boolean => !findings.some((f) => f.severity === "unknown");
