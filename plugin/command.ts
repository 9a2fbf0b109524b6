// The commands of `limactl limawan` as data (docs/DESIGN.md "Command-line contract"): each one's
// name, arguments and options (what commander is told), the privilege it runs with, and the
// module that runs it, loaded only when it runs (the bundle evaluates nothing else: `--version`
// and `plan` stay fast). main.ts wires the list; the lists of root and passwordless commands are
// read off it, never kept by hand. In the order `--help` lists them, by what they are for:
// compile; forward; look (status, doctor, diagnose, monitor); address and annotation; the daemon
// and root's copy; the guest. The sudoers rule lists the passwordless ones in this order too.
import type { OptionValues } from "commander";
import type { Context } from "./context.js";
import type { ExitCode } from "./errors.js";

export type Run<Options> = (ctx: Context, args: string[], options: Options) => Promise<ExitCode>;

export interface CommandDescriptor {
  name: string;
  description: string;
  /** commander's syntax: `<instance>`, `[targets...]`. */
  arguments: ReadonlyArray<{ syntax: string; description: string }>;
  /** commander's syntax: `--wait <seconds>`; a default as commander gives it. */
  options: ReadonlyArray<{ flags: string; description: string; default?: string }>;
  /**
   * `user`: runs as whoever runs it (`--sudo` makes it root, after sudo's password). `root`:
   * changes the host, so a user's run re-runs itself through sudo (main.ts).
   */
  privilege: "user" | "root";
  /**
   * The sudoers rule (commands/sudoers.ts) lets a group run it as root without a password:
   * forwarding, and reading PF. Never a command that reads or edits any file it is given, or
   * replaces what root runs.
   */
  passwordless: boolean;
  /** The command's module, loaded when it runs. */
  load(): Promise<Run<OptionValues>>;
}

const TARGETS = { syntax: "[targets...]", description: "instance names or lima.yaml files (default: every instance)" };
const INSTANCE = { syntax: "<instance>", description: "instance name" };
const NAME = { flags: "--name <vm>", description: "VM name to use for a plain file" };
const dryRun = (what: string) => ({ flags: "--dry-run", description: what });

export const COMMANDS: readonly CommandDescriptor[] = [
  {
    name: "plan",
    description: "compile annotations and print the PF rules `up` would load; changes nothing",
    arguments: [TARGETS],
    options: [
      { flags: "--vm-ip <ip>", description: "the VM's address (default: looked up for instances, 192.168.105.2 for files)" },
      { flags: "--interface <if>", description: "WAN interface(s), comma-separated (default: the default route's)" },
      NAME,
    ],
    privilege: "user",
    passwordless: false,
    load: async () => (await import("./commands/plan.js")).plan,
  },
  {
    name: "check",
    description: "validate annotations and print every diagnostic",
    arguments: [TARGETS],
    options: [NAME],
    privilege: "user",
    passwordless: false,
    load: async () => (await import("./commands/check.js")).check,
  },
  {
    name: "up",
    description: "apply the rules of running instances (root)",
    arguments: [{ syntax: "[instances...]", description: "instance names" }],
    options: [
      { flags: "--all", description: "every running, annotated instance" },
      { flags: "--wait <seconds>", description: "wait this long for the instance to run and get an address" },
      { flags: "--interface <if>", description: "WAN interface(s) for forwards that name none (default: the default route's)" },
      dryRun("print the exact commands and file writes; change nothing"),
    ],
    privilege: "root",
    passwordless: true,
    load: async () => (await import("./commands/up.js")).up,
  },
  {
    name: "down",
    description: "remove instances' rules; restore what LimaWAN changed (root)",
    arguments: [{ syntax: "[instances...]", description: "instance names" }],
    options: [{ flags: "--all", description: "every instance" }, dryRun("print the exact commands and file writes; change nothing")],
    privilege: "root",
    passwordless: true,
    load: async () => (await import("./commands/down.js")).down,
  },
  {
    name: "start",
    description: "`limactl start`, then `up` (for Macs without the watch daemon) (root)",
    arguments: [INSTANCE],
    options: [{ flags: "--wait <seconds>", description: "how long to wait for the VM's address after it starts", default: "60" }, dryRun("print the commands; change nothing")],
    privilege: "root",
    passwordless: true,
    load: async () => (await import("./commands/start.js")).start,
  },
  {
    name: "status",
    description: "instances, forwards (applied/pending/stale/conflicting), PF state and counters",
    arguments: [{ syntax: "[instances...]", description: "instance names (default: all)" }],
    options: [
      { flags: "--stats", description: "every counter PF keeps per forward: evaluations, packets, bytes, states" },
      { flags: "--rules", description: "the rules loaded in the limawan anchor, each with the lima.yaml line it came from" },
    ],
    privilege: "user",
    passwordless: true,
    load: async () => (await import("./commands/status.js")).status,
  },
  {
    name: "doctor",
    description: "check prerequisites and the host: Lima, PF, anchor points, forwarding, daemon, annotations",
    arguments: [],
    options: [],
    privilege: "user",
    passwordless: true,
    load: async () => (await import("./commands/doctor.js")).doctor,
  },
  {
    name: "diagnose",
    description: "check every step between a WAN client and each forward's service; exit 1 when one fails",
    arguments: [INSTANCE],
    options: [
      { flags: "--external", description: "also ask the internet for this Mac's public address (contacts LIMAWAN_PUBLIC_ADDRESS_URL)" },
      { flags: "--report <file>", description: "write a Markdown report to paste into a bug report" },
    ],
    privilege: "user",
    passwordless: true,
    load: async () => (await import("./commands/diagnose.js")).diagnoseCommand,
  },
  {
    name: "monitor",
    description: "security view: states, top sources, bans per forward (root); `monitor unban INSTANCE FORWARD ADDRESS`, `monitor expire --older-than D`",
    arguments: [{ syntax: "[action...]", description: "unban INSTANCE FORWARD ADDRESS | expire" }],
    options: [
      { flags: "--follow", description: "refresh in place on a terminal; one JSON line per event when piped" },
      { flags: "--interval <seconds>", description: "refresh period for --follow", default: "2" },
      { flags: "--alert-cmd <cmd>", description: "run CMD with each banned or forward-down event as JSON on stdin" },
      { flags: "--older-than <duration>", description: "with expire: lift bans older than this (30m, 12h, 7d)" },
      dryRun("print the pfctl commands unban and expire would run; change nothing"),
    ],
    privilege: "root",
    passwordless: true,
    load: async () => (await import("./commands/monitor.js")).monitor,
  },
  {
    name: "ip",
    description: "print the VM's address on its vmnet network",
    arguments: [INSTANCE],
    options: [{ flags: "--wait <seconds>", description: "wait this long for the address" }],
    privilege: "user",
    passwordless: false,
    load: async () => (await import("./commands/ip.js")).ip,
  },
  {
    name: "expose",
    description: "add a statement to the instance's x-limawan annotation, keeping the file's layout",
    arguments: [INSTANCE, { syntax: "<statement...>", description: "e.g. 'http 80 as 8080' (quote it, or give it as words)" }],
    options: [dryRun("print the new file; change nothing")],
    privilege: "user",
    passwordless: false,
    load: async () => (await import("./commands/expose.js")).expose,
  },
  {
    name: "unexpose",
    description: "remove a forward from the instance's x-limawan annotation",
    arguments: [INSTANCE, { syntax: "<name>", description: "forward name" }],
    options: [dryRun("print the new file; change nothing")],
    privilege: "user",
    passwordless: false,
    load: async () => (await import("./commands/expose.js")).unexpose,
  },
  {
    name: "watch",
    description: "foreground reconciler: apply rules when VMs start or move, remove them when they stop; keep `router` forwards mapped on the router (root)",
    arguments: [],
    options: [{ flags: "--on-public-address <cmd>", description: "run CMD as the user with the router's new public address as JSON on stdin (setting: LIMAWAN_ON_PUBLIC_ADDRESS)" }],
    privilege: "root",
    passwordless: false,
    load: async () => (await import("./commands/watch.js")).watch,
  },
  {
    name: "install",
    description: "install the launchd daemon that runs `watch` at boot, and the PF anchor points (root)",
    arguments: [],
    options: [
      { flags: "--on-public-address <cmd>", description: "the daemon runs CMD as you with the router's new public address as JSON on stdin" },
      dryRun("print the plist and commands; change nothing"),
    ],
    privilege: "root",
    passwordless: false,
    load: async () => (await import("./commands/install.js")).install,
  },
  {
    name: "uninstall",
    description: "remove the daemon, every LimaWAN rule and the anchor points (root)",
    arguments: [],
    options: [dryRun("print the commands; change nothing")],
    privilege: "root",
    passwordless: false,
    load: async () => (await import("./commands/install.js")).uninstall,
  },
  {
    name: "sudoers",
    description: "print a sudoers rule letting admins run the installed, root-owned copy without a password",
    arguments: [],
    options: [{ flags: "--group <group>", description: "the group the rule is for", default: "admin" }],
    privilege: "user",
    passwordless: false,
    load: async () => (await import("./commands/sudoers.js")).sudoers,
  },
  {
    name: "harden",
    description: "inside the guest: SSH with keys only, no root login, and fail2ban for each forwarded SSH port",
    arguments: [INSTANCE],
    options: [{ flags: "--undo", description: "put back the files harden changed, and remove those it created" }, dryRun("print each change as a diff; change nothing")],
    privilege: "user",
    passwordless: false,
    load: async () => (await import("./commands/harden.js")).harden,
  },
];

/** Commands that change the host: run as root, raising privileges through sudo when needed. */
export const ROOT_COMMANDS: readonly string[] = COMMANDS.filter((c) => c.privilege === "root").map((c) => c.name);

/** What the sudoers rule lets a member run without a password, in the order the rule lists them. */
export const PASSWORDLESS_COMMANDS: readonly string[] = COMMANDS.filter((c) => c.passwordless).map((c) => c.name);
