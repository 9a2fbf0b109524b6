// The two anchor points in pf.conf, put in and taken out: the pure edit (pf-conf-edit.ts)
// through the pf.conf adapter, which checks the file with pfctl before it replaces the old one.
import { CliError, EXIT } from "../errors.js";
import type { Host } from "../host/index.js";
import type { Output } from "../output.js";
import { insertAnchorPoints, removeAnchorPoints } from "./pf-conf-edit.js";

/** Add the anchor points to pf.conf and load it; `previous` undoes it with restorePfConf. */
export async function installAnchorPoints(host: Host, out: Output): Promise<{ changed: boolean; previous: string }> {
  const previous = await host.pfConf.read();
  const result = insertAnchorPoints(previous);
  if (!result.ok) {
    throw new CliError(EXIT.FAILURE, `cannot add anchor points to ${host.pfConf.file}: ${result.reason}`, "Add `rdr-anchor \"limawan\"` and `anchor \"limawan\"` by hand, in the translation and filter sections.");
  }
  if (!result.changed) return { changed: false, previous };
  out.warn(
    `loading ${host.pfConf.file} replaces PF's main ruleset: anchors macOS added at run time (vmnet's NAT for running VMs) ` +
      "come back when those VMs restart; install with the VMs stopped to avoid that.",
  );
  await host.pfConf.replace(result.text, previous);
  return { changed: true, previous };
}

/** Remove exactly the blocks we added; returns whether pf.conf changed. */
export async function uninstallAnchorPoints(host: Host, out: Output): Promise<boolean> {
  const previous = await host.pfConf.read();
  const result = removeAnchorPoints(previous);
  if (result.unrecognised > 0) {
    out.warn(`${host.pfConf.file} has ${result.unrecognised} limawan marker(s) around edited lines; left as they are — remove them by hand`);
  }
  if (!result.changed) return false;
  await host.pfConf.replace(result.text, previous);
  return true;
}

export async function restorePfConf(host: Host, text: string): Promise<void> {
  await host.pfConf.replace(text, await host.pfConf.read());
}
