// LimaWAN's anchor points are in the loaded main ruleset; if not, why (as status and doctor say it).
import { FILTER_POINT, RDR_POINT } from "../../../compiler/pf/anchor-points.js";
import type { DiagnoseFacts } from "./facts.js";
import { missingPointsReason } from "../status-report.js";
import { step, unread, type DiagnoseStep, type Step } from "./step.js";

export const anchorPoints: DiagnoseStep = { id: "anchor-points", per: "vm", dependsOn: [], judge: anchorPointsStep };

/** status's and doctor's lower-case reason as a fix of its own. */
const sentence = (text: string) => `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;

function anchorPointsStep(facts: DiagnoseFacts): Step {
  const points = facts.pf.anchorPoints;
  if (!points.ok) return unread("anchor-points", points);
  const missing = [points.value.rdr ? "" : RDR_POINT, points.value.filter ? "" : FILTER_POINT].filter(Boolean);
  if (missing.length === 0) return step("anchor-points", "pass", `${RDR_POINT} and ${FILTER_POINT} are in the loaded main ruleset`);
  return step(
    "anchor-points",
    "fail",
    `${missing.join(" and ")} missing from the loaded main ruleset: PF never evaluates the limawan anchor`,
    sentence(missingPointsReason(facts.state.ok ? facts.state.value : null, facts.pfConfPoints, facts.now)),
  );
}
