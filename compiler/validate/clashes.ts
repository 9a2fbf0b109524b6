// Host ports claimed by another VM. The other VMs are passed in (already validated), so
// the diagnostic can name the VM and the line that holds the port.
import { CODES, DiagnosticSink } from "../diagnostic.js";
import { formatRange, protocolsOf, type PortRange, type VmSpec } from "../ir.js";
import type { HostClaim } from "./ports.js";

interface Claim { range: PortRange; own?: HostClaim; other?: { vm: string; file: string; line: number; name: string } }

/** Sweep over own and others' host ranges per protocol; O(n log n) for thousands of forwards. */
export function validateClashes(own: readonly HostClaim[], others: readonly VmSpec[], sink: DiagnosticSink): Set<HostClaim> {
  const bad = new Set<HostClaim>();
  if (others.length === 0) return bad;
  for (const protocol of ["tcp", "udp"] as const) {
    const claims: Claim[] = [];
    for (const c of own) if (protocolsOf(c.forward.protocol).includes(protocol)) claims.push({ range: c.forward.host, own: c });
    for (const vm of others) {
      for (const f of vm.forwards) {
        if (protocolsOf(f.protocol).includes(protocol)) {
          claims.push({ range: f.host, other: { vm: vm.vm, file: vm.file, line: f.line, name: f.name } });
        }
      }
    }
    claims.sort((a, b) => a.range.first - b.range.first);
    let widestOwn: Claim | undefined;
    let widestOther: Claim | undefined;
    const report = (mine: HostClaim, other: NonNullable<Claim["other"]>): void => {
      if (bad.has(mine)) return;
      bad.add(mine);
      sink.error(
        CODES.CLAIMED_BY_OTHER_VM,
        mine.at,
        `host ${protocol} port ${formatRange(mine.forward.host)} is already claimed by VM \`${other.vm}\` (\`${other.name}\`, ${other.file}:${other.line})`,
        "Two VMs cannot share a host port; pick another one here or there.",
      );
    };
    for (const claim of claims) {
      if (claim.own) {
        if (widestOther && widestOther.range.last >= claim.range.first) report(claim.own, widestOther.other!);
        if (!widestOwn || claim.range.last > widestOwn.range.last) widestOwn = claim;
      } else {
        if (widestOwn && widestOwn.range.last >= claim.range.first) report(widestOwn.own!, claim.other!);
        if (!widestOther || claim.range.last > widestOther.range.last) widestOther = claim;
      }
    }
  }
  return bad;
}

/** Whether a spec already accepted once (a VM's last applied rules) now clashes with `others`. */
export function specClashes(spec: VmSpec, others: readonly VmSpec[]): boolean {
  const claims = spec.forwards.map((forward) => ({ forward, at: { line: forward.line, column: 1, endLine: forward.line, endColumn: 2 } }));
  return validateClashes(claims, others, new DiagnosticSink(spec.file)).size > 0;
}
