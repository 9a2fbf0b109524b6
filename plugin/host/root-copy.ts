// The root-owned copy of LimaWAN that root runs (the launchd daemon, and sudo when a sudoers rule
// allows it): the bundle, node itself unless the one running is root's already, and a launcher
// script, all owned by root and writable by root alone, in a directory only root can change
// (LIMAWAN_LIBEXEC_DIR, default /opt/limawan: /opt is root's on a Mac, as for Lima's
// socket_vmnet; Homebrew's prefixes, where npm puts the plugin, belong to the user).
import { chmodSync, closeSync, constants, existsSync, fstatSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import path from "node:path";
import { ROOT_PATHS, type RootPaths } from "../environment.js";
import { CliError, EXIT } from "../errors.js";
import type { Runner } from "./run.js";
import { trustProblem } from "./trust.js";

export interface CopySource {
  /** The running bundle (main.cjs, its code cache, start.cjs). */
  bundle: string;
  /** The node to run it with (process.execPath). */
  node: string;
  version: string;
  /** The paths root acts on, as install saw them: the copy acts on these only (installedPaths). */
  paths: RootPaths;
}

const ROOT_PATH_KEYS = Object.keys(ROOT_PATHS) as Array<keyof RootPaths>;
const PATHS_FILE = "paths.json";
/** Why a directory is not LimaWAN's copy: its marker is missing. */
export const NOT_OURS = "is not a copy of LimaWAN (it has no lib/paths.json)";

/**
 * The paths the copy whose bundle is in `bundle` was installed with; null when `bundle` is not a
 * root-owned copy (a checkout's dist/). A copy run through sudo refuses other paths
 * (pathsProblem): a sudoers rule lets a user's process run it, and --env LIMAWAN_STATE_DIR=…
 * must not point root's writes at another root-owned directory.
 */
export function installedPaths(bundle: string): RootPaths | null {
  try {
    const recorded = JSON.parse(readFileSync(path.join(bundle, PATHS_FILE), "utf8")) as Record<string, unknown>;
    return ROOT_PATH_KEYS.every((k) => typeof recorded[k] === "string") ? (recorded as unknown as RootPaths) : null;
  } catch {
    return null;
  }
}

/** How `paths` differ from the installed ones, as a message (null: they do not). */
export function pathsProblem(paths: RootPaths, installed: RootPaths): string | null {
  const differ = ROOT_PATH_KEYS.filter((k) => path.resolve(paths[k]) !== path.resolve(installed[k]));
  return differ.length === 0 ? null : differ.map((k) => `${k} ${paths[k]} (installed with ${installed[k]})`).join("; ");
}

export class RootCopy {
  /** What launchd and sudo run: `limactl-limawan ARGS`. */
  readonly launcher: string;
  private readonly lib: string;

  constructor(readonly dir: string, private readonly runner: Runner) {
    this.launcher = path.join(dir, "limactl-limawan");
    this.lib = path.join(dir, "lib");
  }

  /** The installed copy's version, or null when there is none (readable by anyone: the dir is 0755). */
  installedVersion(): string | null {
    try {
      return (JSON.parse(readFileSync(path.join(this.lib, "package.json"), "utf8")) as { version?: string }).version ?? null;
    } catch {
      return null;
    }
  }

  /**
   * What the directory holds now: nothing, LimaWAN's copy (its own marker, lib/paths.json, a
   * regular file in real directories, names the paths it acts on), or something else — never
   * replaced or removed: LIMAWAN_LIBEXEC_DIR may name a directory that holds someone's data.
   */
  private present(): "none" | "empty" | "copy" | "other" {
    const kind = (file: string) => {
      try {
        const stats = lstatSync(file);
        return stats.isDirectory() ? "dir" : stats.isFile() ? "file" : "other";
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === "ENOENT" ? "none" : "other";
      }
    };
    const dir = kind(this.dir);
    if (dir === "none") return "none";
    if (dir === "dir" && readdirSync(this.dir).length === 0) return "empty";
    return dir === "dir" && kind(this.lib) === "dir" && kind(path.join(this.lib, PATHS_FILE)) === "file" && installedPaths(this.lib) !== null ? "copy" : "other";
  }

  private notOurs(): CliError {
    return new CliError(EXIT.FAILURE, `${this.dir} ${NOT_OURS}; refusing to replace it`, "Move it elsewhere, or set LIMAWAN_LIBEXEC_DIR to a directory of LimaWAN's own (default /opt/limawan).");
  }

  /** What is replaced or removed, as --dry-run says it. */
  private describeReplaced(): string {
    return this.present() === "empty" ? `the empty directory ${this.dir}` : `LimaWAN ${this.installedVersion() ?? "(unknown version)"}'s copy in ${this.dir}`;
  }

  /**
   * Make the copy: built beside the old one, checked, then moved into place, so a failed
   * install leaves the old copy (and the daemon running it) as they were. A directory that is not
   * LimaWAN's copy is refused, never replaced.
   */
  async install(source: CopySource): Promise<{ node: string; nodeCopied: boolean }> {
    const present = this.present();
    if (present === "other") throw this.notOurs();
    // Run from this copy (sudo found it), its node is root's but goes with the old copy: copied again.
    const node = this.contains(source.node) ? { path: source.node, copy: true } : chooseNode(source.node);
    const installedNode = node.copy ? path.join(this.dir, "node") : node.path;
    if (this.runner.dryRun) {
      if (present !== "none") this.runner.report(`would replace ${this.describeReplaced()}`);
      this.runner.report(`would copy ${source.bundle} to ${this.lib}${node.copy ? ` and ${source.node} to ${installedNode}` : ""} (owned by root, writable by root only)`);
      this.runner.noteWrite(this.launcher, launcherScript(installedNode, this.lib));
      return { node: installedNode, nodeCopied: node.copy };
    }
    const parent = path.dirname(this.dir);
    mkdirSync(parent, { recursive: true, mode: 0o755 });
    const parentProblem = trustProblem(parent);
    if (parentProblem) throw untrusted(parent, parentProblem);

    // A fresh name beside the copy (mkdtemp): nothing already there is removed.
    const building = mkdtempSync(`${this.dir}.new-`);
    chmodSync(building, 0o755);
    try {
      copyTree(source.bundle, path.join(building, "lib"));
      writeFileSync(path.join(building, "lib", "package.json"), `${JSON.stringify({ version: source.version })}\n`);
      writeFileSync(path.join(building, "lib", PATHS_FILE), `${JSON.stringify(Object.fromEntries(ROOT_PATH_KEYS.map((k) => [k, source.paths[k]])))}\n`);
      if (node.copy) copyRegularFile(source.node, path.join(building, "node"));
      writeFileSync(path.join(building, "limactl-limawan"), launcherScript(installedNode, this.lib));
      rootOnly(building);
      const problem = [...walk(building)].map((f) => trustProblem(f)).find(Boolean);
      if (problem) throw new CliError(EXIT.FAILURE, `the copy for root is not root's alone: ${problem}`);
      // Checked again just before: only LimaWAN's own copy is ever moved out of the way.
      const now = this.present();
      if (now === "other") throw this.notOurs();
      if (now !== "none") renameSync(this.dir, `${building}.old`);
      renameSync(building, this.dir);
      rmSync(`${building}.old`, { recursive: true, force: true });
    } finally {
      rmSync(building, { recursive: true, force: true });
    }
    return { node: installedNode, nodeCopied: node.copy };
  }

  /** Remove the copy; a directory that is not LimaWAN's copy is left as it is ("not-ours"). */
  async remove(): Promise<"removed" | "absent" | "not-ours"> {
    const present = this.present();
    if (present === "none") return "absent";
    if (present === "other") return "not-ours";
    if (this.runner.dryRun) this.runner.report(`would remove ${this.describeReplaced()}`);
    else rmSync(this.dir, { recursive: true, force: true });
    return "removed";
  }

  /** Whether the copy runs the same build as the bundle in `bundle`: its code and its loader, byte for byte (a rebuild keeps the version). */
  holds(bundle: string): boolean {
    try {
      return ["main.cjs", "start.cjs"].every((f) => readFileSync(path.join(this.lib, f)).equals(readFileSync(path.join(bundle, f))));
    } catch {
      return false;
    }
  }

  private contains(file: string): boolean {
    return file.startsWith(`${this.dir}${path.sep}`);
  }

  /** What makes the copy unsafe for root to run, file by file (empty: none; missing: one entry). */
  problems(): string[] {
    if (!existsSync(this.launcher)) return [`${this.launcher} is not installed`];
    const node = /^exec (\S+) /m.exec(readFileSync(this.launcher, "utf8"))?.[1];
    const files = [...walk(this.dir), ...(node && !node.startsWith(this.dir) ? [node] : [])];
    return files.map((f) => trustProblem(f)).filter((p): p is string => p !== null);
  }
}

/**
 * The node root runs the copy with. Node built with shared libraries (Homebrew's: libuv,
 * openssl, icu … from /opt/homebrew) would load them from where the user can write, copied or
 * not: refused. A self-contained node (nodejs.org's, nvm's, Volta's) is used where it is when
 * it is root's already, else copied.
 */
export function chooseNode(node: string, config: { variables?: Record<string, unknown> } = process.config as never): { path: string; copy: boolean } {
  const shared = Object.entries(config.variables ?? {}).filter(([k, v]) => k.startsWith("node_shared") && v === true).map(([k]) => k.replace("node_shared_", ""));
  const problem = trustProblem(node);
  if (shared.length > 0 && problem) {
    throw new CliError(
      EXIT.ENVIRONMENT,
      `${node} loads shared libraries (${shared.join(", ")}) from a place root cannot trust (${problem}), so root must not run it`,
      "Install Node from nodejs.org (root-owned /usr/local/bin/node), or a self-contained build (nvm, Volta, fnm), and run install with it: `/usr/local/bin/node \"$(command -v limactl-limawan)\" install`.",
    );
  }
  return { path: node, copy: problem !== null };
}

function launcherScript(node: string, lib: string): string {
  return [
    "#!/bin/sh",
    "# LimaWAN as root runs it (the launchd daemon, sudo): a copy `limactl limawan install` made,",
    "# owned by root and writable by root only. `limactl limawan uninstall` removes it.",
    `exec ${node} ${path.join(lib, "start.cjs")} "$@"`,
    "",
  ].join("\n");
}

function* walk(dir: string): Generator<string> {
  yield dir;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else yield full;
  }
}

/**
 * root:wheel, directories and executables 0755, other files 0644 — of the files in the copy
 * being built, which holds only regular files and directories LimaWAN made (copyTree): a link
 * there would be refused, never followed (lchown; no chmod through it).
 */
function rootOnly(dir: string): void {
  for (const file of walk(dir)) {
    const stats = lstatSync(file);
    if (!stats.isFile() && !stats.isDirectory()) throw new CliError(EXIT.FAILURE, `the copy for root holds ${file}, which is not a regular file or directory`);
    lchownSync(file, 0, 0);
    const executable = stats.isDirectory() || path.basename(file) === "node" || path.basename(file) === "limactl-limawan";
    chmodSync(file, executable ? 0o755 : 0o644);
  }
}

/**
 * The bundle's regular files and directories into `to` (source maps left out). Anything else
 * — a symbolic link, a FIFO, a device — is refused: root would copy, and make root's, whatever
 * a link in the user's checkout points at (/etc/master.passwd, made world-readable).
 */
function copyTree(from: string, to: string): void {
  mkdirSync(to, { mode: 0o700 });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    if (entry.isDirectory()) copyTree(source, path.join(to, entry.name));
    else if (entry.isFile()) {
      if (!entry.name.endsWith(".map")) copyRegularFile(source, path.join(to, entry.name));
    } else throw notCopied(source, entry.isSymbolicLink() ? "a symbolic link" : "not a regular file or directory");
  }
}

/**
 * One regular file's bytes, read through a descriptor opened without following a link (and
 * checked on that descriptor: a file swapped for a link or a FIFO after it was listed is
 * refused), into a new file (O_EXCL: nothing there is written through).
 */
function copyRegularFile(from: string, to: string): void {
  let input: number;
  try {
    input = openSync(from, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    throw notCopied(from, (error as NodeJS.ErrnoException).code === "ELOOP" ? "a symbolic link" : ((error as NodeJS.ErrnoException).code ?? String(error)));
  }
  try {
    if (!fstatSync(input).isFile()) throw notCopied(from, "not a regular file");
    const output = openSync(to, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      const buffer = Buffer.alloc(1 << 20);
      for (let read; (read = readSync(input, buffer, 0, buffer.length, null)) > 0; ) {
        for (let written = 0; written < read; ) written += writeSync(output, buffer, written, read - written);
      }
    } finally {
      closeSync(output);
    }
  } finally {
    closeSync(input);
  }
}

function notCopied(file: string, what: string): CliError {
  return new CliError(EXIT.FAILURE, `refusing to copy ${file} for root: it is ${what}`, "Root copies only regular files and directories, and follows no link: rebuild the bundle (npm run build) or reinstall the package.");
}

function untrusted(file: string, problem: string): CliError {
  return new CliError(EXIT.ENVIRONMENT, `${file} is not root's alone (${problem}), so root must not run what is kept there`, "Set LIMAWAN_LIBEXEC_DIR to a directory that root owns, all the way up.", undefined, null, "unsafe-path");
}
