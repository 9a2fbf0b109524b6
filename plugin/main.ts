// The `limactl-limawan` program: commander wiring of the commands' descriptors
// (command.ts). Each command lives in plugin/commands/<name>.ts, is loaded only when it
// runs (the bundle evaluates nothing else: `--version` and `plan` stay fast), and returns its
// exit code; errors become messages here.
import { Command, CommanderError } from "commander";
import { printableLines } from "../compiler/printable.js";
import { bundleDir } from "./bundle.js";
import { COMMANDS, type CommandDescriptor } from "./command.js";
import type { Context, GlobalOptions } from "./context.js";
import { rerunAsRoot, takeEnvFlags } from "./elevate.js";
import { CliError, EXIT, type ExitCode } from "./errors.js";
import { installedPaths, pathsProblem } from "./host/root-copy.js";
import { VERSION } from "./version.js";
import type { Output } from "./output.js";

export const DESCRIPTION = "Expose Lima VM ports to the internet through macOS PF";

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

  const run = (descriptor: CommandDescriptor) => async (...params: unknown[]) => {
    const command = params[params.length - 1] as Command;
    const options = command.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
    const args = params.slice(0, -2).flatMap((p) => (Array.isArray(p) ? p : p === undefined ? [] : [p])) as string[];
    // Both modules load side by side; a command that fails to load is reported like any error.
    const [{ createContext }, handler] = await Promise.all([import("./context.js"), descriptor.load().catch((error: unknown) => error as Error)]);
    const ctx = createContext(options, env);
    try {
      if (handler instanceof Error) throw handler;
      refuseOtherPaths(ctx);
      if (needsElevation(ctx, descriptor, options)) {
        // The root-owned copy when it is this very build (what a sudoers rule names); never for
        // install, which makes the copy from this build.
        const { rootCopy } = ctx.host;
        const installed = descriptor.name !== "install" && rootCopy.holds(bundleDir()) && rootCopy.problems().length === 0 ? rootCopy.launcher : null;
        // The root side cannot see limactl go (sudo stays): it is told whom to watch.
        const invoker = { ...env, LIMAWAN_INVOKER_PID: env.LIMAWAN_INVOKER_PID || String(process.ppid) };
        exitCode = await rerunAsRoot(argv.filter((a) => a !== "--sudo"), invoker, ctx.environment.paths.limaHome, `\`limactl limawan ${descriptor.name}\``, installed);
        return;
      }
      exitCode = await handler(ctx, args, options);
    } catch (error) {
      exitCode = reportError(ctx.out, error);
    }
  };

  for (const descriptor of COMMANDS) {
    const command = program.command(descriptor.name).description(descriptor.description);
    for (const a of descriptor.arguments) command.argument(a.syntax, a.description);
    for (const o of descriptor.options) command.option(o.flags, o.description, o.default);
    command.action(run(descriptor));
  }

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
function needsElevation(ctx: Context, descriptor: CommandDescriptor, options: GlobalOptions & { sudo?: boolean }): boolean {
  if (ctx.environment.isRoot) return false;
  if (options.sudo) return true; // asked for, --dry-run or not
  return !ctx.dryRun && descriptor.privilege === "root" && ctx.environment.platform === "darwin";
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
    throw new CliError(EXIT.ENVIRONMENT, `the root-owned copy acts only on the paths it was installed with: ${problem}`, "Leave the LIMAWAN_* paths as they were at install, or run `limactl limawan install` again with them.", undefined, null, "unsafe-path");
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
