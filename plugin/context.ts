// What every command receives: the environment, the logger and the host adapters.
// Tests swap the programs on PATH, never these objects' internals.
import { readEnvironment, type Environment } from "./environment.js";
import { Lima } from "./host/lima.js";
import { Pfctl } from "./host/pfctl.js";
import { Sysctl } from "./host/sysctl.js";
import { createRunner, type Runner } from "./host/run.js";
import { colourWanted, Output } from "./output.js";

export interface GlobalOptions { json?: boolean; quiet?: boolean; verbose?: boolean; color?: boolean; dryRun?: boolean }

export interface Context {
  environment: Environment;
  out: Output;
  runner: Runner;
  lima: Lima;
  pfctl: Pfctl;
  sysctl: Sysctl;
  dryRun: boolean;
}

export function createContext(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env): Context {
  const environment = readEnvironment(env);
  const out = new Output({
    json: Boolean(options.json),
    quiet: Boolean(options.quiet),
    verbose: Boolean(options.verbose),
    color: colourWanted(options.color, env),
  });
  const dryRun = Boolean(options.dryRun);
  const runner = createRunner({
    env,
    user: environment.invokingUser,
    limaHome: environment.paths.limaHome,
    dryRun,
    report: (line) => out.print(line),
  });
  return {
    environment,
    out,
    runner,
    lima: new Lima(runner, environment.paths.limaHome, environment.paths.dhcpdLeases),
    pfctl: new Pfctl(runner),
    sysctl: new Sysctl(runner),
    dryRun,
  };
}
