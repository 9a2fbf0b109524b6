// The guest's interface on the vmnet network holds the address PF forwards to (Lima issue 3100).
import type { Ipv4Address } from "../../../compiler/ir.js";
import type { DiagnoseFacts } from "./facts.js";
import { noGuest, step, unread, type DiagnoseStep, type Step } from "./step.js";

export const guestInterface: DiagnoseStep = {
  id: "guest-interface",
  per: "vm",
  dependsOn: ["vm-running"],
  judge: (facts) => guestInterfaceStep(facts, facts.address?.kind === "found" ? facts.address.address : null),
};

function guestInterfaceStep(facts: DiagnoseFacts, vmAddress: Ipv4Address | null): Step {
  const { guest, device, instance } = facts;
  if (!guest) return noGuest("guest-interface");
  if (!guest.addresses.ok) return unread("guest-interface", guest.addresses);
  const addresses = guest.addresses.value;
  if (addresses.length === 0) {
    return step(
      "guest-interface",
      "fail",
      `${device} has no IPv4 address (Lima issue 3100: the guest's DHCP on ${device} did not complete)${vmAddress ? `, though the Mac leased it ${vmAddress}` : ""}`,
      `Restart the VM (\`limactl stop ${instance} && limactl start ${instance}\`); if it persists, look at the guest's DHCP: \`limactl shell ${instance} sudo networkctl status ${device}\`.`,
    );
  }
  if (vmAddress && !addresses.includes(vmAddress)) {
    return step(
      "guest-interface",
      "fail",
      `${device} has ${addresses.join(", ")}, not ${vmAddress}: PF would forward to an address the guest does not hold (a stale lease?)`,
      `Restart the VM so it and the lease agree, then \`limactl limawan up ${instance}\`.`,
    );
  }
  return step("guest-interface", "pass", `${device} has ${addresses.join(", ")}`);
}
