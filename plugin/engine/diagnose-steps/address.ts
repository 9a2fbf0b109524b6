// The VM's address on its vmnet network: bootpd's lease, else the guest's own report.
import { step, type DiagnoseStep, type Step } from "./step.js";
import type { DiagnoseFacts } from "./facts.js";

export const address: DiagnoseStep = { id: "address", per: "vm", dependsOn: ["vm-running"], judge: addressStep };

function addressStep(facts: DiagnoseFacts): Step {
  const name = facts.instance;
  if (facts.unreachable) return step("address", "fail", facts.unreachable.message, facts.unreachable.hint);
  const address = facts.address;
  switch (address?.kind) {
    case "found":
      return address.source === "lease"
        ? step("address", "pass", `${address.address}, from bootpd's DHCP lease (${facts.leasesFile})`)
        : step("address", "pass", `${address.address}, from the guest's ${facts.device} (no DHCP lease on the Mac names it)`);
    case "refused":
      return step("address", "fail", address.reason, `Check the VM's network: limactl shell ${name} ip addr`);
    case "error":
      return step("address", "unknown", address.reason);
    default:
      return step("address", "fail", `no address yet: no DHCP lease in ${facts.leasesFile}, and ${facts.device} in the guest has none`, `Wait for DHCP (\`limactl limawan ip ${name} --wait 60\`); if none comes, see the guest interface step.`);
  }
}
