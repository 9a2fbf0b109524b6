// The `limactl-limawan` program: commander wiring only. Each command lives in
// plugin/commands/<name>.ts, is loaded only when it runs (the bundle evaluates nothing else:
// `--version` and `plan` stay fast), and returns its exit code; errors become messages here.
import { Command, CommanderError } from "commander";
import { printableLines } from "../compiler/printable.js";
import { bundleDir } from "./bundle.js";
import type { Context, GlobalOptions } from "./context.js";
import { rerunAsRoot, takeEnvFlags } from "./elevate.js";
import { CliError, EXIT, type ExitCode } from "./errors.js";
import { installedPaths, pathsProblem } from "./host/root-copy.js";
import { VERSION } from "./version.js";
import type { Output } from "./output.js";

export const DESCRIPTION = "Expose Lima VM ports to the internet through macOS PF";

type Handler = (ctx: Context, args: string[], options: Record<string, unknown>) => Promise<ExitCode>;

/** Commands that change the host: run as root, raising privileges through sudo when needed. */
export const ROOT_COMMANDS: readonly string[] = ["up", "down", "watch", "start", "install", "uninstall", "monitor"];

export async function main(argv: string[], processEnv: NodeJS.ProcessEnv = process.env): Promise<number> {
  let exitCode: number = EXIT.OK;
  // What a user-side run passed through sudo (elevate.ts), merged over what sudo left.
  let env = processEnv;
  try {
    const taken = takeEnvFlags(argv);
    env = { ...processEnv, ...taken.env };
    argv = taken.argv;
  } catch (error) {
    process.stderr.write(`error: ${printableLines((error as Error).message)}\n`);
    return EXIT.USAGE;
  }
  const program = new Command("limactl limawan")
    .description(`${DESCRIPTION}.\nForwards keep the real client address, so logs and fail2ban in the VM see it.`)
    .version(`limactl-limawan ${VERSION}`, "--version", "print the version")
    .option("--json", "print machine-readable JSON where data is printed")
    .option("-q, --quiet", "print only results and errors")
    .option("-v, --verbose", "explain each step")
    .option("--no-color", "no colours (NO_COLOR is honoured too)")
    .option("--sudo", "run this command as root through sudo (status and doctor then read PF too)")
    .showHelpAfterError("(add --help for usage)")
    .exitOverride()
    // Commander quotes the arguments it refuses: escape what they might carry.
    .configureOutput({ writeErr: (s) => process.stderr.write(printableLines(s)), writeOut: (s) => process.stdout.write(s) });

  const run = (load: () => Promise<Handler>) => async (...params: unknown[]) => {
    const command = params[params.length - 1] as Command;
    const options = command.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
    const args = params.slice(0, -2).flatMap((p) => (Array.isArray(p) ? p : p === undefined ? [] : [p])) as string[];
    // Both modules load side by side; a command that fails to load is reported like any error.
    const [{ createContext }, handler] = await Promise.all([import("./context.js"), load().catch((error: unknown) => error as Error)]);
    const ctx = createContext(options, env);
    try {
      if (handler instanceof Error) throw handler;
      refuseOtherPaths(ctx);
      if (needsElevation(ctx, command.name(), options)) {
        // The root-owned copy when it is this very build (what a sudoers rule names); never for
        // install, which makes the copy from this build.
        const { rootCopy } = ctx.host;
        const installed = command.name() !== "install" && rootCopy.holds(bundleDir()) && rootCopy.problems().length === 0 ? rootCopy.launcher : null;
        // The root side cannot see limactl go (sudo stays): it is told whom to watch.
        const invoker = { ...env, LIMAWAN_INVOKER_PID: env.LIMAWAN_INVOKER_PID || String(process.ppid) };
        exitCode = await rerunAsRoot(argv.filter((a) => a !== "--sudo"), invoker, ctx.environment.paths.limaHome, `\`limactl limawan ${command.name()}\``, installed);
        return;
      }
      exitCode = await handler(ctx, args, options);
    } catch (error) {
      exitCode = reportError(ctx.out, error);
    }
  };

  program
    .command("plan")
    .description("compile annotations and print the PF rules `up` would load; changes nothing")
    .argument("[targets...]", "instance names or lima.yaml files (default: every instance)")
    .option("--vm-ip <ip>", "the VM's address (default: looked up for instances, 192.168.105.2 for files)")
    .option("--interface <if>", "WAN interface(s), comma-separated (default: the default route's)")
    .option("--name <vm>", "VM name to use for a plain file")
    .action(run(async () => (await import("./commands/plan.js")).plan as Handler));

  program
    .command("check")
    .description("validate annotations and print every diagnostic")
    .argument("[targets...]", "instance names or lima.yaml files (default: every instance)")
    .option("--name <vm>", "VM name to use for a plain file")
    .action(run(async () => (await import("./commands/check.js")).check as Handler));

  program
    .command("up")
    .description("apply the rules of running instances (root)")
    .argument("[instances...]", "instance names")
    .option("--all", "every running, annotated instance")
    .option("--wait <seconds>", "wait this long for the instance to run and get an address")
    .option("--interface <if>", "WAN interface(s) for forwards that name none (default: the default route's)")
    .option("--dry-run", "print the exact commands and file writes; change nothing")
    .action(run(async () => (await import("./commands/up.js")).up as Handler));

  program
    .command("down")
    .description("remove instances' rules; restore what LimaWAN changed (root)")
    .argument("[instances...]", "instance names")
    .option("--all", "every instance")
    .option("--dry-run", "print the exact commands and file writes; change nothing")
    .action(run(async () => (await import("./commands/down.js")).down as Handler));

  program
    .command("status")
    .description("instances, forwards (applied/pending/stale/conflicting), PF state and counters")
    .argument("[instances...]", "instance names (default: all)")
    .option("--stats", "every counter PF keeps per forward: evaluations, packets, bytes, states")
    .option("--rules", "the rules loaded in the limawan anchor, each with the lima.yaml line it came from")
    .action(run(async () => (await import("./commands/status.js")).status as Handler));

  program
    .command("ip")
    .description("print the VM's address on its vmnet network")
    .argument("<instance>", "instance name")
    .option("--wait <seconds>", "wait this long for the address")
    .action(run(async () => (await import("./commands/ip.js")).ip as Handler));

  program
    .command("expose")
    .description("add a statement to the instance's x-limawan annotation, keeping the file's layout")
    .argument("<instance>", "instance name")
    .argument("<statement...>", "e.g. 'http 80 as 8080' (quote it, or give it as words)")
    .option("--dry-run", "print the new file; change nothing")
    .action(run(async () => (await import("./commands/expose.js")).expose as Handler));

  program
    .command("unexpose")
    .description("remove a forward from the instance's x-limawan annotation")
    .argument("<instance>", "instance name")
    .argument("<name>", "forward name")
    .option("--dry-run", "print the new file; change nothing")
    .action(run(async () => (await import("./commands/expose.js")).unexpose as Handler));

  program
    .command("watch")
    .description("foreground reconciler: apply rules when VMs start or move, remove them when they stop; keep `router` forwards mapped on the router (root)")
    .option("--on-public-address <cmd>", "run CMD as the user with the router's new public address as JSON on stdin (setting: LIMAWAN_ON_PUBLIC_ADDRESS)")
    .action(run(async () => (await import("./commands/watch.js")).watch as Handler));

  program
    .command("start")
    .description("`limactl start`, then `up` (for Macs without the watch daemon) (root)")
    .argument("<instance>", "instance name")
    .option("--wait <seconds>", "how long to wait for the VM's address after it starts", "60")
    .option("--dry-run", "print the commands; change nothing")
    .action(run(async () => (await import("./commands/start.js")).start as Handler));

  program
    .command("install")
    .description("install the launchd daemon that runs `watch` at boot, and the PF anchor points (root)")
    .option("--on-public-address <cmd>", "the daemon runs CMD as you with the router's new public address as JSON on stdin")
    .option("--dry-run", "print the plist and commands; change nothing")
    .action(run(async () => (await import("./commands/install.js")).install as Handler));

  program
    .command("uninstall")
    .description("remove the daemon, every LimaWAN rule and the anchor points (root)")
    .option("--dry-run", "print the commands; change nothing")
    .action(run(async () => (await import("./commands/install.js")).uninstall as Handler));

  program
    .command("monitor")
    .description("security view: states, top sources, bans per forward (root); `monitor unban INSTANCE FORWARD ADDRESS`, `monitor expire --older-than D`")
    .argument("[action...]", "unban INSTANCE FORWARD ADDRESS | expire")
    .option("--follow", "refresh in place on a terminal; one JSON line per event when piped")
    .option("--interval <seconds>", "refresh period for --follow", "2")
    .option("--alert-cmd <cmd>", "run CMD with each banned or forward-down event as JSON on stdin")
    .option("--older-than <duration>", "with expire: lift bans older than this (30m, 12h, 7d)")
    .option("--dry-run", "print the pfctl commands unban and expire would run; change nothing")
    .action(run(async () => (await import("./commands/monitor.js")).monitor as Handler));

  program
    .command("sudoers")
    .description("print a sudoers rule letting admins run the installed, root-owned copy without a password")
    .option("--group <group>", "the group the rule is for", "admin")
    .action(run(async () => (await import("./commands/sudoers.js")).sudoers as Handler));

  program
    .command("diagnose")
    .description("check every step between a WAN client and each forward's service; exit 1 when one fails")
    .argument("<instance>", "instance name")
    .option("--external", "also ask the internet for this Mac's public address (contacts LIMAWAN_PUBLIC_ADDRESS_URL)")
    .option("--report <file>", "write a Markdown report to paste into a bug report")
    .action(run(async () => (await import("./commands/diagnose.js")).diagnoseCommand as Handler));

  program
    .command("harden")
    .description("inside the guest: SSH with keys only, no root login, and fail2ban for each forwarded SSH port")
    .argument("<instance>", "instance name")
    .option("--undo", "put back the files harden changed, and remove those it created")
    .option("--dry-run", "print each change as a diff; change nothing")
    .action(run(async () => (await import("./commands/harden.js")).harden as Handler));

  program
    .command("doctor")
    .description("check prerequisites and the host: Lima, PF, anchor points, forwarding, daemon, annotations")
    .action(run(async () => (await import("./commands/doctor.js")).doctor as Handler));

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; every other commander error is a usage error.
      return error.exitCode === 0 || error.code === "commander.helpDisplayed" || error.code === "commander.version" ? EXIT.OK : EXIT.USAGE;
    }
    throw error;
  }
  return exitCode;
}

/**
 * A command that changes the host, run by a user on a Mac, re-runs itself through sudo (so
 * does any command given --sudo). Never by itself for --dry-run, which changes nothing, and
 * never where the command would refuse anyway (not macOS: it says so, exit 3).
 */
function needsElevation(ctx: Context, name: string, options: GlobalOptions & { sudo?: boolean }): boolean {
  if (ctx.environment.isRoot) return false;
  if (options.sudo) return true; // asked for, --dry-run or not
  return !ctx.dryRun && ROOT_COMMANDS.includes(name) && ctx.environment.platform === "darwin";
}

/**
 * The root-owned copy, run through sudo (a sudoers rule may let any process of the user's do
 * that), acts only on the paths it was installed with: a LIMAWAN_* override passed with --env
 * could otherwise point root's writes at another root-owned directory.
 */
function refuseOtherPaths(ctx: Context): void {
  if (!ctx.environment.isRoot || !ctx.environment.invokingUser) return;
  const installed = installedPaths(bundleDir());
  const problem = installed && pathsProblem(ctx.environment.paths, installed);
  if (problem) {
    throw new CliError(EXIT.ENVIRONMENT, `the root-owned copy acts only on the paths it was installed with: ${problem}`, "Leave the LIMAWAN_* paths as they were at install, or run `limactl limawan install` again with them.");
  }
}

function reportError(out: Output, error: unknown): ExitCode {
  if (error instanceof CliError) {
    if (error.diagnostics) out.diagnostics(error.diagnostics.items, error.diagnostics.sources);
    out.error(error.message, error.hint, error.detail);
    return error.exitCode;
  }
  // A bug, not a user mistake: say so plainly, with the stack only on --verbose.
  const err = error instanceof Error ? error : new Error(String(error));
  out.error(`internal error: ${err.message}`, "This is a LimaWAN bug; please report it with the command you ran (add --verbose for the stack).");
  out.verbose(err.stack ?? "");
  return EXIT.INTERNAL;
}
