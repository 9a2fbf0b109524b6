// A forward marked `router`: the gateway found, which protocol answered, mapped or refused with
// its code, the external address (another NAT outside it: CGNAT, double NAT). router-report.ts judges.
import { diagnoseRouterStep, type RouterFinding } from "../router-report.js";
import { step, type DiagnoseStep, type Step, type StepId } from "./step.js";

export const router: DiagnoseStep = {
  id: "router",
  per: "forward",
  dependsOn: [],
  when: (facts, forward) => Boolean(facts.router && forward?.router),
  judge: ({ facts, forward }) => fromRouterFinding("router", diagnoseRouterStep(facts.router!.facts, facts.router!.recorded, facts.instance, forward.name, facts.now)),
};

/** A router finding (router-report.ts) as a diagnose step. */
export function fromRouterFinding(id: StepId, finding: RouterFinding): Step {
  return step(id, finding.level === "ok" ? "pass" : finding.level, finding.detail, finding.hint);
}
