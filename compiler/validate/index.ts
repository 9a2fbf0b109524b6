// Forward drafts → VmSpec. Every rule family reports into the sink, all at once; a VmSpec comes
// back only when the VM has no errors, and it is the only way to obtain one.
//
// Forwards are checked one at a time as lowering reads them, so no draft outlives its own
// checks (compile time stays linear at thousands of forwards). What depends on the VM-wide
// statements — default interfaces and sources, `allow privileged` — and on all forwards
// together — overlapping host ports, clashes with other VMs — is settled in `finish`, since
// those statements may come anywhere in the annotation.
import { CODES, DiagnosticSink } from "../diagnostic.js";
import type { Cidr, Forward, ForwardDraft, InterfaceName, VmSpec, VmStatements } from "../ir.js";
import { excerpt } from "../printable.js";
import { validateSources } from "./addresses.js";
import { validateClashes } from "./clashes.js";
import { validateInterfaces } from "./interfaces.js";
import { validateLimits } from "./limits.js";
import { ForwardNames, isVmName, MAX_VM_NAME } from "./names.js";
import { FIRST_UNPRIVILEGED_PORT, validateHostOverlaps, validatePortShapes, validatePrivileged, type HostClaim } from "./ports.js";
import { validateRouter } from "./router.js";

export type { HostClaim } from "./ports.js";

/** Host-wide policy; a VM's own `allow privileged` statement also opens privileged ports for it. */
export interface Policy { allowPrivileged: boolean }
export const DEFAULT_POLICY: Policy = { allowPrivileged: false };

/** A forward that passed its own checks; `interfaces`/`sources` wait for the VM's defaults when unset. */
interface Checked extends HostClaim {
  inheritsInterfaces: boolean;
  inheritsSources: boolean;
  /** On a host port below 1024: placed only if the VM says `allow privileged`. */
  privileged: boolean;
}

export class VmValidator {
  private readonly checked: Checked[] = [];
  /** Drafts on privileged host ports (few), kept until `allow privileged` is known. */
  private readonly privileged: ForwardDraft[] = [];
  private readonly names: ForwardNames;
  private readonly errorsBefore: number;

  constructor(
    private readonly vm: string,
    private readonly file: string,
    private readonly others: readonly VmSpec[],
    private readonly sink: DiagnosticSink,
    private readonly policy: Policy = DEFAULT_POLICY,
  ) {
    this.names = new ForwardNames(sink);
    this.errorsBefore = sink.errorCount;
  }

  /** Every check that needs only this forward (and the names before it). */
  add(forward: ForwardDraft): void {
    const named = this.names.check(forward);
    const shapes = validatePortShapes(forward, this.sink);
    const privileged = shapes && forward.host.value.first < FIRST_UNPRIVILEGED_PORT && !this.policy.allowPrivileged;
    if (privileged) this.privileged.push(forward);
    const limits = validateLimits(forward, this.sink);
    const interfaces = forward.on ? validateInterfaces(forward.on, this.sink) : null;
    const sources = forward.from ? validateSources(forward.from, this.sink) : null;
    // The range's length is known only once its shape is.
    const router = shapes ? validateRouter(forward, this.sink) : undefined;
    if (!named || !shapes || !limits || (forward.on && !interfaces) || (forward.from && !sources) || router === undefined) return;
    const checked: Forward = {
      name: forward.name.value as Forward["name"],
      protocol: forward.protocol,
      guest: forward.guest.value,
      host: forward.host.value,
      sources: sources ?? [],
      interfaces,
      limit: limits.limit,
      max: limits.max,
      log: forward.log,
      router,
      line: forward.at.line,
    };
    this.checked.push({
      forward: checked,
      at: forward.host.at,
      inheritsInterfaces: !forward.on,
      inheritsSources: !forward.from,
      privileged,
    });
  }

  /**
   * The VM-wide checks, then the ones across forwards. `spec` if nothing was wrong;
   * `standalone` if nothing but clashes with other VMs was (what `status` lists as conflicting).
   */
  finish(vmWide: VmStatements): { spec: VmSpec | null; standalone: VmSpec | null; claims: HostClaim[] } {
    const { sink } = this;
    if (!isVmName(this.vm)) {
      sink.error(
        CODES.INVALID_VM_NAME,
        { line: 1, column: 1, endLine: 1, endColumn: 2 },
        `instance name \`${excerpt(this.vm, 60)}\` cannot be used in PF rules`,
        `Lima instance names are letters, digits, '.', '_' and '-', at most ${MAX_VM_NAME} characters.`,
      );
    }
    // null: no `interface` statement (the host's default), or a bad one (reported, and the VM fails).
    const vmInterfaces: InterfaceName[] | null = vmWide.interfaces ? validateInterfaces(vmWide.interfaces, sink) : null;
    const vmSources: Cidr[] | null = vmWide.allowFrom ? validateSources(vmWide.allowFrom, sink) : [];

    for (const forward of this.privileged) validatePrivileged(forward, vmWide.allowPrivileged, sink);

    const placed: Checked[] = [];
    for (const claim of this.checked) {
      if (claim.privileged && !vmWide.allowPrivileged) continue;
      if (claim.inheritsInterfaces) claim.forward.interfaces = vmInterfaces;
      if (claim.inheritsSources) {
        if (!vmSources) continue;
        claim.forward.sources = vmSources;
      }
      placed.push(claim);
    }
    validateHostOverlaps(placed, sink);
    const ownErrors = sink.errorCount;
    validateClashes(placed, this.others, sink);

    if (ownErrors > this.errorsBefore || !isVmName(this.vm)) return { spec: null, standalone: null, claims: placed };
    const spec: VmSpec = { vm: this.vm, file: this.file, forwards: placed.map((c) => c.forward), allowRouted: vmWide.allowRouted };
    return { spec: sink.errorCount > ownErrors ? null : spec, standalone: spec, claims: placed };
  }
}
