// The forward's service listens in the guest (`ss`), where WAN clients arrive: 0.0.0.0 or the VM's address.
import { formatRange, protocolsOf, type Forward, type Ipv4Address } from "../../../compiler/ir.js";
import type { GuestSocket } from "../../host/lima-guest.js";
import { MAX_PORTS_PER_FORWARD, type DiagnoseFacts } from "./facts.js";
import { noGuest, step, unread, type DiagnoseStep, type Step } from "./step.js";

export const guestListening: DiagnoseStep = {
  id: "guest-listening",
  per: "forward",
  dependsOn: ["vm-running"],
  judge: ({ facts, forward, vmAddress }) => guestListeningStep(facts, forward, vmAddress),
};

/** Does the socket take IPv4 connections to the VM's own address? (GuestSocket: facts from ss, parsed once in host/lima-guest.ts.) */
function reachable(socket: GuestSocket, vmAddress: Ipv4Address | null): "yes" | "loopback" | "ipv6-only" | "other" {
  if ((socket.wildcard && socket.family !== "ipv6") || (vmAddress && socket.family === "ipv4" && socket.host === vmAddress)) return "yes";
  if (socket.loopback) return "loopback";
  if (socket.family === "ipv6") return "ipv6-only";
  return vmAddress ? "other" : "yes";
}

function guestListeningStep(facts: DiagnoseFacts, forward: Forward, vmAddress: Ipv4Address | null): Step {
  const { guest, instance } = facts;
  if (!guest) return noGuest("guest-listening");
  if (!guest.sockets.ok) return unread("guest-listening", guest.sockets);
  const found: string[] = [];
  const problems: string[] = [];
  let missing = 0;
  const last = Math.min(forward.guest.last, forward.guest.first + MAX_PORTS_PER_FORWARD - 1);
  for (const protocol of protocolsOf(forward.protocol)) {
    for (let port = forward.guest.first; port <= last; port++) {
      const sockets = guest.sockets.value.filter((s) => s.protocol === protocol && s.port === port);
      const good = sockets.find((s) => reachable(s, vmAddress) === "yes");
      if (good) {
        found.push(`${protocol} ${good.address}:${port}`);
        continue;
      }
      if (sockets.length === 0) {
        missing++;
        problems.push(`nothing ${protocol === "tcp" ? "listens on" : "is bound to"} ${protocol} port ${port}`);
        continue;
      }
      const kinds = sockets.map((s) => reachable(s, vmAddress));
      const where = sockets.map((s) => `${s.address}:${port}`).join(", ");
      problems.push(
        kinds.includes("loopback")
          ? `${protocol} port ${port} listens on ${where} only: WAN clients arrive at ${vmAddress ?? "the VM's address"}`
          : kinds.includes("ipv6-only")
            ? `${protocol} port ${port} listens on IPv6 only (${where}); PF forwards IPv4`
            : `${protocol} port ${port} listens on ${where}, not on ${vmAddress ?? "the VM's address"}`,
      );
    }
  }
  const range = forward.guest.last > forward.guest.first ? ` (of ports ${formatRange(forward.guest)}, the first ${last - forward.guest.first + 1} checked)` : "";
  if (problems.length === 0) return step("guest-listening", "pass", `${found.join(", ")}${range}`);
  const fix =
    missing > 0 && found.length === 0
      ? `Start the service in the guest (\`limactl shell ${instance} sudo ss -ltunp\` shows what listens), or correct the guest port in the annotation.`
      : `Make the service listen on 0.0.0.0 (or ${vmAddress ?? "the VM's address"}) in the guest.`;
  // Part of a range answering is a finding, not a broken forward.
  return step("guest-listening", found.length > 0 ? "warn" : "fail", `${problems.slice(0, 3).join("; ")}${problems.length > 3 ? `; ${problems.length - 3} more` : ""}${range}`, fix);
}
