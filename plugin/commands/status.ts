// `status [INSTANCE…] [--json]`: per instance, its forwards and whether they are applied,
// pending, stale or conflicting, with PF's counters; plus PF, anchor points, forwarding.
// Reads what it can without root and says what it could not.
import { CODES } from "../../compiler/diagnostic.js";
import { pfNamesOf } from "../../compiler/pf-names.js";
import type { Context } from "../context.js";
import { desiredState, STATUS_POLICY, type DesiredState } from "../engine/desired-state.js";
import { emptyState, type State } from "../engine/state.js";
import { instanceStatus, type InstanceStatus } from "../engine/status-report.js";
import { CliError, EXIT, type ExitCode } from "../errors.js";
import type { DaemonStatus } from "../host/launchd.js";
import { IP_FORWARDING } from "../host/sysctl.js";

export interface HostStatus {
  pf: { enabled: boolean; anchorPoints: { rdr: boolean; filter: boolean }; referenceHeld: boolean } | null;
  forwarding: string | null;
  daemon: DaemonStatus | null;
  unreadable: string[];
}

export async function status(ctx: Context, args: string[]): Promise<ExitCode> {
  const { host } = ctx;
  const unreadable: string[] = [];
  const attempt = async <T>(what: string, fn: () => Promise<T>): Promise<T | null> => {
    try {
      return await fn();
    } catch (error) {
      unreadable.push(`${what}: ${error instanceof CliError ? error.message : (error as Error).message}`);
      return null;
    }
  };

  // Independent reads, side by side: each is a process start.
  const stateRead = attempt("state", () => host.state.read());
  const [state, desired, labels, anchorPoints, enabled, references, forwarding, daemon] = await Promise.all([
    stateRead,
    stateRead.then((state) => attempt("Lima instances", () => desiredState(host, state ?? emptyState(), { read: "every" }, STATUS_POLICY))),
    attempt("PF counters", () => host.pfctl.labels()),
    attempt("PF anchor points", () => host.pfctl.loadedAnchorPoints()),
    attempt("PF status", () => host.pfctl.enabled()),
    attempt("PF references", () => host.pfctl.references()),
    attempt("IP forwarding", () => host.sysctl.get(IP_FORWARDING)),
    attempt("launchd daemon", () => host.launchd.status()),
  ]);

  const listed = desired?.read.map((r) => r.instance.name) ?? [];
  const wanted = args.length > 0 ? args : [...new Set([...listed, ...Object.keys(state?.vms ?? {})])].sort();
  const rows = wanted.map((name) => instanceRow(name, desired, state, labels));
  const hostStatus: HostStatus = {
    pf:
      enabled !== null && anchorPoints !== null
        ? { enabled, anchorPoints, referenceHeld: Boolean(state?.pfToken && references?.has(state.pfToken)) }
        : null,
    forwarding,
    daemon,
    unreadable,
  };
  // Loaded labels that belong to no known VM: left by a crash or a hand edit.
  const known = new Set(Object.values(state?.vms ?? {}).flatMap((vm) => pfNamesOf(vm.spec).map((n) => n.label)));
  const strays = [...(labels?.keys() ?? [])].filter((l) => !known.has(l));

  if (ctx.out.options.json) {
    ctx.out.json({ host: hostStatus, instances: rows, strayLabels: strays });
    return EXIT.OK;
  }
  printStatus(ctx, hostStatus, rows, strays);
  return EXIT.OK;
}

function instanceRow(name: string, desired: DesiredState | null, state: State | null, labels: Parameters<typeof instanceStatus>[2]): InstanceStatus {
  const read = desired?.read.find((r) => r.instance.name === name);
  const result = read?.result;
  // Forwards whose host port another VM holds, by the line of their statement.
  const conflicts = new Map((result?.diagnostics ?? []).filter((d) => d.code === CODES.CLAIMED_BY_OTHER_VM).map((d) => [d.line, d.message] as const));
  return instanceStatus(
    {
      instance: name,
      status: read?.instance.status ?? (state?.vms[name] ? "Deleted" : "Unknown"),
      address: read?.address ?? null,
      annotated: result?.annotated ?? false,
      spec: result?.standalone ?? null,
      diagnostics: result?.diagnostics ?? [],
      conflicts,
    },
    state?.vms[name],
    labels,
    state?.interfaces ?? [],
  );
}

function printStatus(ctx: Context, host: HostStatus, rows: InstanceStatus[], strays: string[]): void {
  const c = ctx.out.c;
  const yesNo = (v: boolean, yes: string, no: string) => (v ? c.green(yes) : c.yellow(no));
  const lines: string[] = [];
  if (host.pf) {
    lines.push(
      `PF: ${yesNo(host.pf.enabled, "enabled", "disabled")}` +
        `${host.pf.referenceHeld ? " (LimaWAN holds a reference)" : ""}` +
        ` · anchor points: ${yesNo(host.pf.anchorPoints.rdr && host.pf.anchorPoints.filter, "present", "missing (`sudo limactl limawan up` restores them)")}` +
        ` · IP forwarding: ${host.forwarding === null ? "unknown" : yesNo(host.forwarding === "1", "on", "off")}`,
    );
  } else {
    const reason = host.unreadable.find((u) => u.startsWith("PF")) ?? "";
    lines.push(`PF: ${c.yellow("unknown")} (${/needs root/.test(reason) ? "reading PF needs root: sudo limactl limawan status" : reason})`);
  }
  if (host.daemon) lines.push(`watch daemon: ${host.daemon.loaded ? c.green("loaded") : host.daemon.installed ? c.yellow("installed, not loaded") : "not installed"}`);
  for (const note of host.unreadable) ctx.out.verbose(`could not read ${note}`);

  for (const row of rows) {
    lines.push("");
    lines.push(`${c.bold(row.instance)}  ${row.status}${row.address ? `  ${row.address}` : ""}`);
    if (!row.annotated) {
      lines.push("  no x-limawan annotation");
      continue;
    }
    if (!row.valid) lines.push(`  ${c.red("annotation has errors")}: limactl limawan check ${row.instance}`);
    const table = [["NAME", "PROTO", "HOST PORT", "TARGET", "STATE", "PACKETS", "STATES"]];
    for (const f of row.forwards) {
      table.push([
        f.name,
        f.protocol,
        f.host ? `${f.interfaces.join(",") || "?"}:${f.host}` : "",
        f.target,
        f.state + (f.reason ? ` (${f.reason})` : ""),
        f.packets === null ? "-" : String(f.packets),
        f.states === null ? "-" : String(f.states),
      ]);
    }
    if (row.forwards.length > 0) lines.push(...formatTable(table).map((l) => `  ${l}`));
  }
  if (strays.length > 0) lines.push("", c.yellow(`rules in the limawan anchor that no VM owns: ${strays.join(", ")} (sudo limactl limawan up --all replaces them)`));
  lines.push("", c.dim("Forwards serve clients arriving on the WAN interface; from this Mac, connect to the VM's address directly (PF cannot redirect the Mac's own connections)."));
  ctx.out.print(lines.join("\n"));
}

function formatTable(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd());
}
