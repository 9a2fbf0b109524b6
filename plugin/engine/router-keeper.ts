// The watch daemon's part in router mappings: after each run, the router made to match
// (router-apply.ts: renewals due, a restart healed, a move followed, stopped VMs' mappings
// deleted), a run triggered when the next renewal or retry falls due, and the user's
// --on-public-address command told when the router's public address changes.
import type { Ipv4Address } from "../../compiler/ir.js";
import type { Context } from "../context.js";
import { runUserCommand } from "../host/user-command.js";
import { followRouter, type PublicAddressChange } from "./router-apply.js";
import { classifyExternalAddress } from "../router/external-address.js";
import type { State } from "./state.js";

/** A renewal is not put off by more than this, whatever the clock says (a suspended Mac). */
const MAX_TIMER_MS = 10 * 60_000;

export class RouterKeeper {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** The public address --on-public-address was last told. */
  private told: Ipv4Address | null = null;

  constructor(
    private readonly ctx: Context,
    private readonly trigger: (reason: string, delayMs?: number) => void,
    private readonly log: (line: string) => void,
    private readonly onPublicAddress: string | null,
  ) {}

  async afterRun(after: State): Promise<void> {
    const report = await followRouter(this.ctx.host, after, { retryNow: false, tell: { event: this.log, warning: this.log } });
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.stopped || !report) return;
    if (report.nextDueAt !== null) {
      const delay = Math.min(Math.max(report.nextDueAt - Date.now(), 0), MAX_TIMER_MS);
      this.timer = setTimeout(() => this.trigger("router lease renewal due", 0), delay);
    }
    // Told once per address this daemon has seen, the first one included (an `up` before it
    // started may have recorded it already).
    const address = report.state.publicAddress;
    const gateway = report.state.gateway;
    if (this.onPublicAddress && address && gateway && address !== this.told) {
      const previous = this.told ?? report.publicAddress?.previous ?? null;
      this.told = address;
      await this.tellPublicAddress({ address, previous, kind: classifyExternalAddress(address), gateway });
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async tellPublicAddress(change: PublicAddressChange): Promise<void> {
    const input = `${JSON.stringify({ address: change.address, previous: change.previous, kind: change.kind, gateway: change.gateway, at: new Date().toISOString() })}\n`;
    const result = await runUserCommand(this.onPublicAddress!, input, this.ctx.host.userIdentity());
    if (!result.ran) this.log(`--on-public-address was not run: ${result.reason}`);
    else if (result.timedOut) this.log("--on-public-address took longer than 60 s and was stopped");
    else if (result.exitCode !== 0) this.log(`--on-public-address exited with ${result.exitCode} for ${change.address}`);
    else this.log(`told --on-public-address the public address ${change.address}`);
  }
}
