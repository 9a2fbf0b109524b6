// net.inet.ip.forwarding=1: the Mac passes redirected packets on to the VM.
import { step, unread, type DiagnoseStep } from "./step.js";

export const ipForwarding: DiagnoseStep = {
  id: "ip-forwarding",
  per: "vm",
  dependsOn: [],
  judge: ({ pf, instance }) =>
    !pf.forwarding.ok
      ? unread("ip-forwarding", pf.forwarding)
      : pf.forwarding.value === "1"
        ? step("ip-forwarding", "pass", "net.inet.ip.forwarding=1")
        : step("ip-forwarding", "fail", `net.inet.ip.forwarding=${pf.forwarding.value}: the Mac does not pass redirected packets on to the VM`, `\`limactl limawan up ${instance}\` turns it on.`),
};
