// The `limactl-limawan` program: commander wiring only. Each command lives in
// plugin/commands/<name>.ts and returns its exit code; errors become messages here.
import { Command, CommanderError } from "commander";
import { check } from "./commands/check.js";
import { doctor } from "./commands/doctor.js";
import { down } from "./commands/down.js";
import { expose, unexpose } from "./commands/expose.js";
import { install, uninstall } from "./commands/install.js";
import { ip } from "./commands/ip.js";
import { plan } from "./commands/plan.js";
import { status } from "./commands/status.js";
import { start } from "./commands/start.js";
import { up } from "./commands/up.js";
import { watch } from "./commands/watch.js";
import { createContext, type Context, type GlobalOptions } from "./context.js";
import { CliError, EXIT, type ExitCode } from "./errors.js";
import { Output } from "./output.js";

export const DESCRIPTION = "Expose Lima VM ports to the internet through macOS PF";

type Handler = (ctx: Context, args: string[], options: Record<string, unknown>) => Promise<ExitCode>;

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let exitCode: number = EXIT.OK;
  const program = new Command("limactl limawan")
    .description(`${DESCRIPTION}.\nForwards keep the real client address, so logs and fail2ban in the VM see it.`)
    .option("--json", "print machine-readable JSON where data is printed")
    .option("-q, --quiet", "print only results and errors")
    .option("-v, --verbose", "explain each step")
    .option("--no-color", "no colours (NO_COLOR is honoured too)")
    .showHelpAfterError("(add --help for usage)")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });

  const run = (handler: Handler) => async (...params: unknown[]) => {
    const command = params[params.length - 1] as Command;
    const options = command.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
    const args = params.slice(0, -2).flatMap((p) => (Array.isArray(p) ? p : p === undefined ? [] : [p])) as string[];
    const ctx = createContext(options, env);
    try {
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
    .action(run((ctx, args, o) => plan(ctx, args, o as Parameters<typeof plan>[2])));

  program
    .command("check")
    .description("validate annotations and print every diagnostic")
    .argument("[targets...]", "instance names or lima.yaml files (default: every instance)")
    .option("--name <vm>", "VM name to use for a plain file")
    .action(run((ctx, args, o) => check(ctx, args, o as Parameters<typeof check>[2])));

  program
    .command("up")
    .description("apply the rules of running instances (root)")
    .argument("[instances...]", "instance names")
    .option("--all", "every running, annotated instance")
    .option("--wait <seconds>", "wait this long for the instance to run and get an address")
    .option("--interface <if>", "WAN interface(s) for forwards that name none (default: the default route's)")
    .option("--dry-run", "print the exact commands and file writes; change nothing")
    .action(run((ctx, args, o) => up(ctx, args, o)));

  program
    .command("down")
    .description("remove instances' rules; restore what LimaWAN changed (root)")
    .argument("[instances...]", "instance names")
    .option("--all", "every instance")
    .option("--dry-run", "print the exact commands and file writes; change nothing")
    .action(run((ctx, args, o) => down(ctx, args, o)));

  program
    .command("status")
    .description("instances, forwards (applied/pending/stale/conflicting), PF state and counters")
    .argument("[instances...]", "instance names (default: all)")
    .action(run((ctx, args) => status(ctx, args)));

  program
    .command("ip")
    .description("print the VM's address on its vmnet network")
    .argument("<instance>", "instance name")
    .option("--wait <seconds>", "wait this long for the address")
    .action(run((ctx, args, o) => ip(ctx, args, o)));

  program
    .command("expose")
    .description("add a statement to the instance's x-limawan annotation, keeping the file's layout")
    .argument("<instance>", "instance name")
    .argument("<statement...>", "e.g. 'http 80 as 8080' (quote it, or give it as words)")
    .option("--dry-run", "print the new file; change nothing")
    .action(run((ctx, args) => expose(ctx, args)));

  program
    .command("unexpose")
    .description("remove a forward from the instance's x-limawan annotation")
    .argument("<instance>", "instance name")
    .argument("<name>", "forward name")
    .option("--dry-run", "print the new file; change nothing")
    .action(run((ctx, args) => unexpose(ctx, args)));

  program
    .command("watch")
    .description("foreground reconciler: apply rules when VMs start or move, remove them when they stop (root)")
    .action(run((ctx) => watch(ctx)));

  program
    .command("start")
    .description("`limactl start`, then `up` (for Macs without the watch daemon) (root)")
    .argument("<instance>", "instance name")
    .option("--wait <seconds>", "how long to wait for the VM's address after it starts", "60")
    .option("--dry-run", "print the commands; change nothing")
    .action(run((ctx, args, o) => start(ctx, args, o)));

  program
    .command("install")
    .description("install the launchd daemon that runs `watch` at boot, and the PF anchor points (root)")
    .option("--dry-run", "print the plist and commands; change nothing")
    .action(run((ctx) => install(ctx)));

  program
    .command("uninstall")
    .description("remove the daemon, every LimaWAN rule and the anchor points (root)")
    .option("--dry-run", "print the commands; change nothing")
    .action(run((ctx) => uninstall(ctx)));

  program
    .command("doctor")
    .description("check prerequisites and the host: Lima, PF, anchor points, forwarding, daemon, annotations")
    .action(run((ctx) => doctor(ctx)));

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
