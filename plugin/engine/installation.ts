// What `install` puts on the Mac and `uninstall` takes off again, as steps over the host:
// the anchor points in pf.conf (recorded in the state), the launchd daemon, and on the way out
// every rule, LimaWAN's PF reference, and IP forwarding as LimaWAN found it.
import { CliError, EXIT } from "../errors.js";
import type { Host } from "../host/index.js";
import { IP_FORWARDING } from "../host/sysctl.js";
import type { Output } from "../output.js";
import { installAnchorPoints, uninstallAnchorPoints } from "./anchor-points.js";
import { converge } from "./converge.js";
import { desiredWithout } from "./desired-state.js";
import { followRouter } from "./router-apply.js";
import { internetSharingReferenced } from "../../compiler/pf/loaded-ruleset-edit.js";
import { anchorPointsIn } from "../../compiler/pf/pf-conf-edit.js";
import { writeState } from "./state.js";
import { recoverState } from "./state-recovery.js";

/** The anchor points in pf.conf, recorded as install's. Returns whether pf.conf changed. */
export async function installPfConf(host: Host, out: Output): Promise<boolean> {
  return host.state.locked(async () => {
    const change = await installAnchorPoints(host, out);
    const changed = change.pfConf !== null || change.loaded.translation !== null || change.loaded.filter !== null;
    const state = await recoverState(host, out);
    if (changed || !state.pfConf) await writeState(host, { ...state, pfConf: { addedBy: "install", backup: host.pfConf.backup } });
    return changed;
  });
}

/** Every rule and LimaWAN's PF reference, then the anchor points, IP forwarding and the state. */
export async function removeEverything(host: Host, out: Output): Promise<void> {
  const { after } = await converge(host, out, { desired: async (_host, state) => desiredWithout(state, "all") });
  // Every router mapping goes too, before the state that knows of them.
  await followRouter(host, after, { retryNow: false, tell: { event: (l) => out.info(l), warning: (l) => out.warn(l) } });
  await host.state.locked(async () => {
    const state = await recoverState(host, out);
    // Between the two locks another command (an `up`) may have applied rules: deleting the
    // state now would leave them loaded with nobody knowing of them, and leak a PF reference.
    if (!host.dryRun && (Object.keys(state.vms).length > 0 || state.pfToken !== null)) {
      throw new CliError(EXIT.FAILURE, "another limawan command applied rules while uninstalling", "Run `limactl limawan uninstall` again.");
    }
    const points = anchorPointsIn(await host.pfConf.read().catch(() => ""));
    const removedFromFile = await uninstallAnchorPoints(host, out);
    if (removedFromFile) out.info(`removed the limawan anchor points from ${host.pfConf.file} and from the loaded ruleset`);
    else if (points.rdr || points.filter) out.warn(`${host.pfConf.file} has limawan anchor points LimaWAN did not add; left as they are`);
    if (state.forwarding?.changedByLimawan) {
      // vmnet's shared networks (Lima's `shared`, vzNAT, other tools' VMs) NAT through the Mac:
      // turning forwarding off under them would cut their VMs off the Internet.
      const sharing = await host.pfctl.loadedMainRuleset().then(internetSharingReferenced, () => null);
      if (sharing === false) {
        await host.sysctl.set(IP_FORWARDING, state.forwarding.prior);
        out.info(`restored ${IP_FORWARDING} to ${state.forwarding.prior} (LimaWAN had turned it on)`);
      } else {
        const why = sharing ? "vmnet's shared networks are running (Internet Sharing's rules are loaded), and their VMs reach the Internet through it" : "PF could not be read to tell whether vmnet's shared networks, whose VMs need it, are running";
        out.warn(`left ${IP_FORWARDING} at 1, though LimaWAN turned it on: ${why}; \`sudo sysctl -w ${IP_FORWARDING}=${state.forwarding.prior}\` once they are stopped`);
      }
    }
    await host.state.remove();
    await host.pfConf.removeBackup();
  });
}
