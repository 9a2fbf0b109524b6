// Enough of cobra/pflag's flag parsing for the stand-ins: long and short flags, `--x=v`,
// booleans with optional `=true|false`, `--` ending flags, and cobra's error wording.

export class UsageError extends Error {}

/** limactl's persistent (global) flags, accepted by every command. */
export const GLOBAL_FLAGS = {
  debug: { type: "bool" },
  "log-level": { type: "string" },
  "log-format": { type: "string" },
  tty: { type: "bool" },
  yes: { type: "bool", short: "y" },
};

/**
 * @param {string[]} args
 * @param {Record<string, {type: "bool"|"string"|"strings", short?: string}>} spec
 * @param {{interspersed?: boolean}} options interspersed=false: flags end at the first positional (shell)
 */
export function parseFlags(args, spec, { interspersed = true } = {}) {
  const all = { ...GLOBAL_FLAGS, ...spec };
  const byShort = Object.fromEntries(Object.entries(all).filter(([, s]) => s.short).map(([name, s]) => [s.short, name]));
  const flags = {};
  const positional = [];
  const set = (name, value) => {
    if (all[name].type === "strings") (flags[name] ??= []).push(value);
    else flags[name] = value;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      const inline = eq < 0 ? undefined : arg.slice(eq + 1);
      const s = all[name];
      if (!s) throw new UsageError(`unknown flag: --${name}`);
      if (s.type === "bool") {
        if (inline === undefined) set(name, true);
        else if (/^(1|t|T|TRUE|true|True)$/.test(inline)) set(name, true);
        else if (/^(0|f|F|FALSE|false|False)$/.test(inline)) set(name, false);
        else throw new UsageError(`invalid argument ${JSON.stringify(inline)} for "--${name}" flag: strconv.ParseBool: parsing ${JSON.stringify(inline)}: invalid syntax`);
      } else if (inline !== undefined) set(name, inline);
      else if (i + 1 < args.length) set(name, args[++i]);
      else throw new UsageError(`flag needs an argument: --${name}`);
      continue;
    }
    if (arg.startsWith("-") && arg !== "-") {
      for (let j = 1; j < arg.length; j++) {
        const name = byShort[arg[j]];
        if (!name) throw new UsageError(`unknown shorthand flag: '${arg[j]}' in ${arg}`);
        if (all[name].type === "bool") set(name, true);
        else {
          const rest = arg.slice(j + 1);
          if (rest) set(name, rest.replace(/^=/, ""));
          else if (i + 1 < args.length) set(name, args[++i]);
          else throw new UsageError(`flag needs an argument: '${arg[j]}' in -${arg[j]}`);
          break;
        }
      }
      continue;
    }
    positional.push(arg);
    if (!interspersed) {
      positional.push(...args.slice(i + 1));
      break;
    }
  }
  return { flags, positional };
}
