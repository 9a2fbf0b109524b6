// The VM running, as limactl lists it; Lima's own error when it cannot read lima.yaml. What every
// step inside the guest depends on.
import { printable } from "../../../compiler/printable.js";
import { limaCannotReadHint } from "../../host/lima.js";
import { step, type DiagnoseStep } from "./step.js";

export const vmRunning: DiagnoseStep = {
  id: "vm-running",
  per: "vm",
  dependsOn: [],
  judge: (facts) =>
    facts.status === "Running"
      ? step("vm-running", "pass", "Running")
      : facts.status === ""
        ? step("vm-running", "fail", `Lima cannot read ${facts.file}${facts.limaError ? `: ${printable(facts.limaError)}` : ""}`, limaCannotReadHint(facts.file))
        : step("vm-running", "fail", `${facts.status}: nothing answers for its forwards`, `limactl start ${facts.instance}`),
  blocks: (facts) => (facts.status === "" ? "Lima cannot read its lima.yaml" : `the VM is ${facts.status.toLowerCase()}`),
};
