// PF is enabled: without it no rule of LimaWAN's applies.
import { step, unread, type DiagnoseStep } from "./step.js";

export const pfEnabled: DiagnoseStep = {
  id: "pf-enabled",
  per: "vm",
  dependsOn: [],
  judge: (facts) =>
    !facts.pf.enabled.ok
      ? unread("pf-enabled", facts.pf.enabled)
      : facts.pf.enabled.value
        ? step("pf-enabled", "pass", "enabled")
        : step("pf-enabled", "fail", "PF is disabled: no rule of LimaWAN's applies", `\`limactl limawan up ${facts.instance}\` enables it with a reference of its own (never \`pfctl -d\` it while forwards are wanted).`),
};
