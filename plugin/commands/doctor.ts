// `doctor`: prerequisites and host checks, each with what to do about it. Exit 1 when
// something needed is wrong; reads what it can without root and says what it could not.
import { readFile } from "node:fs/promises";
import { compileFile } from "../../compiler/pipeline.js";
import type { Context } from "../context.js";
import { CliError, EXIT, type ExitCode } from "../errors.js";
import { routableNetworks } from "../host/lima.js";
import { defaultInterface } from "../host/route.js";
import { IP_FORWARDING } from "../host/sysctl.js";
import { anchorPointsIn } from "../pf-conf.js";
import { daemonStatus } from "./install.js";

type Level = "ok" | "warn" | "fail" | "unknown";
interface Check { name: string; level: Level; detail: string; hint?: string }

export async function doctor(ctx: Context): Promise<ExitCode> {
  const checks: Check[] = [];
  const add = (name: string, level: Level, detail: string, hint?: string) => checks.push({ name, level, detail, ...(hint ? { hint } : {}) });
  const { platform, isRoot, paths } = ctx.environment;

  add("macOS", platform === "darwin" ? "ok" : "fail", platform, platform === "darwin" ? undefined : "LimaWAN changes macOS PF; on other systems only plan/check work.");
  add("root", isRoot ? "ok" : "warn", isRoot ? "running as root" : "not root: PF state cannot be read", isRoot ? undefined : "Run `sudo limactl limawan doctor` for the full picture.");

  const version = await ctx.runner.run("limactl", ["--version"], { asUser: true }).catch((e: unknown) => (e instanceof CliError ? e : null));
  if (version instanceof CliError || version === null) add("Lima", "fail", "limactl not found on PATH", "Install Lima 2.0 or newer: brew install lima");
  else {
    const m = /version v?(\d+)\.(\d+)/.exec(version.stdout);
    const [major, minor] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
    if (major < 2) add("Lima", "fail", version.stdout.trim() || "unknown version", "LimaWAN is a Lima 2.0 plugin: upgrade Lima.");
    else add("Lima", major === 2 && minor < 1 ? "warn" : "ok", version.stdout.trim(), major === 2 && minor < 1 ? "Lima 2.1 adds `limactl watch`; the watcher falls back to the instance directories." : undefined);
  }

  const pfConf = await readFile(paths.pfConf, "utf8").catch(() => null);
  if (pfConf === null) add("pf.conf", "fail", `cannot read ${paths.pfConf}`);
  else {
    const points = anchorPointsIn(pfConf);
    add("pf.conf anchor points", points.rdr && points.filter ? "ok" : "warn", points.rdr && points.filter ? `present in ${paths.pfConf}` : `missing from ${paths.pfConf}`, points.rdr && points.filter ? undefined : "sudo limactl limawan install (a macOS update may have rewritten the file)");
  }

  try {
    const loaded = await ctx.pfctl.loadedAnchorPoints();
    add("loaded anchor points", loaded.rdr && loaded.filter ? "ok" : "warn", loaded.rdr && loaded.filter ? "rdr-anchor and anchor \"limawan\" are loaded" : "not in the loaded ruleset", loaded.rdr && loaded.filter ? undefined : "`sudo limactl limawan up` restores them");
    const enabled = await ctx.pfctl.enabled();
    add("PF", enabled ? "ok" : "warn", enabled ? "enabled" : "disabled", enabled ? undefined : "`up` enables it with its own reference when a forward is applied");
  } catch (error) {
    add("PF", "unknown", error instanceof CliError ? error.message : String(error), error instanceof CliError && error.hint ? error.hint : "Run with sudo.");
  }

  const forwarding = await ctx.sysctl.get(IP_FORWARDING).catch(() => null);
  add("IP forwarding", forwarding === null ? "unknown" : forwarding === "1" ? "ok" : "warn", forwarding === null ? "cannot read" : `${IP_FORWARDING}=${forwarding}`, forwarding === "0" ? "`up` turns it on when a forward is applied" : undefined);

  const iface = await defaultInterface(ctx.runner);
  add("default route", iface ? "ok" : "warn", iface ? `via ${iface}` : "none found", iface ? undefined : "Forwards need `interface IF` in their annotation, or --interface.");

  const daemon = await daemonStatus(ctx).catch(() => null);
  if (daemon) add("watch daemon", daemon.loaded ? "ok" : "warn", daemon.loaded ? `loaded (log: ${daemon.log})` : daemon.installed ? "installed but not loaded" : "not installed", daemon.loaded ? undefined : "sudo limactl limawan install — or run `up` by hand after each start");

  const instances = await ctx.lima.list().catch(() => []);
  for (const instance of instances) {
    const text = await ctx.lima.readConfig(instance.name).catch(() => null);
    if (text === null) continue;
    const result = compileFile({ vm: instance.name, file: ctx.lima.configFile(instance.name), text });
    if (!result.annotated) continue;
    const errors = result.diagnostics.filter((d) => d.severity === "error");
    if (errors.length > 0) add(`instance ${instance.name}`, "fail", `${errors.length} annotation error(s)`, `limactl limawan check ${instance.name}`);
    else if (routableNetworks(instance).length === 0) add(`instance ${instance.name}`, "fail", "no vmnet network: PF cannot reach it", "Add `networks: [{lima: shared}]` to its lima.yaml.");
    else add(`instance ${instance.name}`, "ok", `${result.spec!.forwards.length} forward(s), ${instance.status.toLowerCase()}`);
  }

  const failed = checks.some((c) => c.level === "fail");
  if (ctx.out.options.json) ctx.out.json({ ok: !failed, checks });
  else {
    const c = ctx.out.c;
    const mark: Record<Level, string> = { ok: c.green("ok  "), warn: c.yellow("warn"), fail: c.red("FAIL"), unknown: c.dim("??  ") };
    for (const check of checks) {
      ctx.out.print(`${mark[check.level]}  ${check.name}: ${check.detail}`);
      if (check.hint) ctx.out.print(`      ${c.dim(check.hint)}`);
    }
  }
  return failed ? EXIT.FAILURE : EXIT.OK;
}
