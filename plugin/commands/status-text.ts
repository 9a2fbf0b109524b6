// status for people: the host's PF, state and daemon lines, then each instance with its forwards'
// table; `--stats`, every counter PF keeps per forward.
import type { Context } from "../context.js";
import type { InstanceStatus, StatusReport } from "../engine/status-report.js";
import { printable } from "../../compiler/printable.js";
import { limaCannotReadHint } from "../host/lima.js";
import { forwardRouterStatus, routerLines } from "../engine/router-report.js";
import type { RouterState } from "../engine/router-state.js";

/** `--stats`: every counter PF keeps per applied forward. */
export function printStats(ctx: Context, report: StatusReport): void {
  const rows = [["INSTANCE", "FORWARD", "STATE", "EVALUATIONS", "PACKETS", "BYTES", "STATES"]];
  const n = (v: number | null) => (v === null ? "-" : String(v));
  for (const instance of report.instances) {
    for (const f of instance.forwards) rows.push([instance.instance, f.name, f.state, n(f.evaluations), n(f.packets), n(f.bytes), n(f.states)]);
  }
  if (rows.length === 1) {
    ctx.out.info("no forwards");
    return;
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  ctx.out.print(rows.map((r) => r.map((cell, i) => (i >= 3 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join("  ").trimEnd()).join("\n"));
}

/** The status as text; `router`: LimaWAN's record of the router's mappings (null: none). */
export function printStatus(ctx: Context, report: StatusReport, router: RouterState | null): void {
  const { host, instances, strayLabels } = report;
  const c = ctx.out.c;
  const yesNo = (v: boolean, yes: string, no: string) => (v ? c.green(yes) : c.yellow(no));
  const lines: string[] = [];
  if (host.pf) {
    lines.push(
      `PF: ${yesNo(host.pf.enabled, "enabled", "disabled")}` +
        `${host.pf.referenceHeld ? " (LimaWAN holds a reference)" : ""}` +
        ` · anchor points: ${yesNo(host.pf.anchorPoints.rdr && host.pf.anchorPoints.filter, "present", `missing: ${host.pf.missingPoints}`)}` +
        ` · IP forwarding: ${host.forwarding === null ? "unknown" : yesNo(host.forwarding === "1", "on", "off")}`,
    );
  } else {
    const pf = host.unreadable.find((u) => u.what.startsWith("PF"));
    lines.push(`PF: ${c.yellow("unknown")} (${pf?.needsRoot ? "reading PF needs root: limactl limawan status --sudo" : (pf?.message ?? "")})`);
  }
  if (host.stateFile?.damaged) {
    lines.push(`state: ${c.red("damaged")} (${host.stateFile.damaged}); shown as rebuilt from PF's rules — \`limactl limawan up --all\` (or \`down\`) moves it aside and rebuilds it`);
  }
  if (host.stateFile && host.stateFile.movedAside.length > 0) {
    lines.push(`state: ${c.yellow("rebuilt from PF")} after it was damaged; the damaged file is kept as ${host.stateFile.movedAside.join(", ")} (remove it once read)`);
  }
  if (host.daemon) lines.push(`watch daemon: ${host.daemon.loaded ? c.green("loaded") : host.daemon.installed ? c.yellow("installed, not loaded") : "not installed"}`);
  for (const u of host.unreadable) ctx.out.verbose(`could not read ${u.what}: ${u.message}`);

  for (const row of instances) {
    lines.push("");
    lines.push(`${c.bold(printable(row.instance))}  ${row.limaError !== null ? c.red("Lima cannot read its lima.yaml") : row.status}${row.address ? `  ${row.address}` : ""}`);
    if (row.limaError !== null) {
      const file = ctx.host.lima.configFile(row.instance);
      lines.push(`  ${printable(row.limaError)}`, `  ${c.dim(limaCannotReadHint(file))}`);
    }
    if (row.notForwarded) lines.push(`  ${c.red("not forwarded")}: ${printable(row.notForwarded)}`);
    if (row.heldDown) lines.push(`  ${c.yellow("held down")} by \`limactl limawan down\`: the watch daemon leaves it alone; \`limactl limawan up ${row.instance}\` forwards it again`);
    if (!row.annotated) {
      lines.push("  no x-limawan annotation");
      continue;
    }
    if (!row.valid) lines.push(`  ${c.red("annotation has errors")}: limactl limawan check ${row.instance}`);
    if (row.forwards.length > 0) lines.push(...forwardTable(row).map((l) => `  ${l}`));
    for (const f of row.forwards) {
      const mapped = router ? forwardRouterStatus(router, row.instance, f.name) : null;
      if (mapped) lines.push(...routerLines(mapped, Date.now()).map((l) => `  ${f.name} ${l}`));
    }
  }
  if (strayLabels.length > 0) lines.push("", c.yellow(`rules in the limawan anchor that no VM owns: ${strayLabels.join(", ")} (limactl limawan up --all replaces them)`));
  lines.push("", c.dim("Forwards serve clients arriving on the WAN interface; from this Mac, connect to the VM's address directly (PF cannot redirect the Mac's own connections)."));
  ctx.out.print(lines.join("\n"));
}

function forwardTable(row: InstanceStatus): string[] {
  const rows = [["NAME", "PROTO", "HOST PORT", "TARGET", "STATE", "PACKETS", "STATES"]];
  for (const f of row.forwards) {
    rows.push([
      f.name,
      f.protocol,
      f.host ? `${f.interfaces.join(",") || "?"}:${f.host}` : "",
      f.target,
      f.state + (f.reason ? ` (${f.reason})` : ""),
      f.packets === null ? "-" : String(f.packets),
      f.states === null ? "-" : String(f.states),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd());
}
