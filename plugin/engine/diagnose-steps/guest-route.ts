// The guest's default route goes out the vmnet interface, so replies return through the Mac's PF.
import type { DiagnoseFacts } from "./facts.js";
import { noGuest, step, unread, type DiagnoseStep, type Step } from "./step.js";

export const guestRoute: DiagnoseStep = { id: "guest-route", per: "vm", dependsOn: ["vm-running"], judge: guestRouteStep };

function guestRouteStep(facts: DiagnoseFacts): Step {
  const { guest, device, instance } = facts;
  if (!guest) return noGuest("guest-route");
  if (!guest.routes.ok) return unread("guest-route", guest.routes);
  const [used] = guest.routes.value;
  const gateway = guest.routes.value.find((r) => r.dev === device)?.gateway ?? null;
  const manual = `inside the guest, until it restarts: \`limactl shell ${instance} sudo ip route replace default via ${gateway ?? "GATEWAY"} dev ${device} metric 50\`${gateway ? "" : ` (GATEWAY: the Mac's address on the VM's network, 192.168.105.1 on \`shared\`)`}`;
  if (!used) {
    return step("guest-route", "fail", "the guest has no default route: replies to WAN clients cannot leave it", `Give ${device} its DHCP route back (restart the VM); ${manual}.`);
  }
  if (used.dev === device) return step("guest-route", "pass", `via ${used.gateway ?? "?"} on ${device} (the Mac): replies to WAN clients return through PF`);
  const why = gateway === null ? ` (${device} has no default route${guest.addresses.ok && guest.addresses.value.length === 0 ? ": it has no address" : ""})` : ` (metric ${used.metric} beats ${device}'s)`;
  return step(
    "guest-route",
    "fail",
    `the default route goes out ${used.dev}${why}, not ${device}: replies to WAN clients leave through Lima's user-mode NAT instead of the Mac, and the clients' connections silently fail`,
    `Give ${device} a lower metric than ${used.dev}'s ${used.metric}: in lima.yaml \`networks: [{lima: ${facts.network ?? "shared"}, metric: 100}]\` (Lima's default), then restart the VM; or ${manual}.`,
  );
}
