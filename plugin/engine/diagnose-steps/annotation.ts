// The annotation: present, readable, valid, and exposing something.
import { step, type DiagnoseStep, type Step } from "./step.js";
import type { DiagnoseFacts } from "./facts.js";

export const annotation: DiagnoseStep = { id: "annotation", per: "vm", dependsOn: [], judge: annotationStep };

function annotationStep(facts: DiagnoseFacts): Step {
  const { annotation, file, instance } = facts;
  if (annotation.unreadable) return step("annotation", "fail", `${file}: ${annotation.unreadable}`, `Check the file: limactl list ${instance}`);
  if (!annotation.annotated && annotation.errors > 0) return step("annotation", "fail", `${file} cannot be read: ${annotation.errors} error(s)`, `\`limactl limawan check ${instance}\` shows them.`);
  if (!annotation.annotated) return step("annotation", "fail", `no x-limawan annotation in ${file}: nothing is forwarded`, `limactl limawan expose ${instance} 'http 80 as 8080'`);
  if (!annotation.spec) return step("annotation", "fail", `${annotation.errors} error(s) in ${file}`, `\`limactl limawan check ${instance}\` shows each with its line.`);
  const warnings = annotation.warnings > 0 ? `, ${annotation.warnings} warning(s) (limactl limawan check ${instance})` : "";
  if (annotation.spec.forwards.length === 0) return step("annotation", "warn", `valid, but it exposes nothing${warnings}`, `limactl limawan expose ${instance} 'http 80 as 8080'`);
  return step("annotation", annotation.warnings > 0 ? "warn" : "pass", `valid (${file})${warnings}`);
}
