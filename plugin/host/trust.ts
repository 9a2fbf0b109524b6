// What root may trust: a file that only root can change — owned by root, writable by no one
// else, in directories only root can change, all the way up (OpenSSH's safe_path rule; Lima
// asks the same of socket_vmnet, LIMA-FACTS.md §9). A root-owned sticky directory (/tmp) may be
// an ancestor of a real file or directory: others cannot rename or remove what root keeps in it.
// A symbolic link is another matter: whoever made it chose where it points, and in a sticky
// directory anyone may have made it (`/Users/Shared/launchctl` → /usr/bin/env). A link is
// trusted only when root owns it and its directory is root's alone: not sticky-shared, not
// group- or world-writable.
import { existsSync, lstatSync, realpathSync, statSync, type Stats } from "node:fs";
import path from "node:path";

const STICKY = 0o1000;

/** Why root must not trust `file` (or the directory `file`), or null when it may. */
export function trustProblem(file: string): string | null {
  let real: string;
  try {
    real = realpathSync(file);
  } catch (error) {
    return `${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
  }
  // The path as given (its links and their directories) and the path it resolves to.
  for (const chain of new Set([path.resolve(file), real])) {
    const parts = chain.split(path.sep).filter(Boolean);
    for (let i = parts.length; i >= 0; i--) {
      const component = path.sep + parts.slice(0, i).join(path.sep);
      let stats: Stats;
      try {
        stats = lstatSync(component);
      } catch {
        continue; // the linked spelling of a component checked through `real`
      }
      if (stats.isSymbolicLink()) {
        const problem = linkProblem(component, stats);
        if (problem) return problem;
        continue; // its target is on the real chain
      }
      const ancestor = i < parts.length;
      if (stats.uid !== 0) return `${component} belongs to uid ${stats.uid}, not root`;
      if ((stats.mode & 0o022) !== 0 && !(ancestor && stats.isDirectory() && (stats.mode & STICKY) !== 0)) {
        return `${component} can be written by ${writer(stats)}`;
      }
    }
  }
  return null;
}

/** A link root may follow: root's, in a directory no one else can write (sticky or not). */
function linkProblem(link: string, stats: Stats): string | null {
  if (stats.uid !== 0) return `${link} is a link made by uid ${stats.uid}, not root`;
  const dir = path.dirname(link);
  const dirStats = statSync(dir);
  if ((dirStats.mode & 0o022) !== 0) return `${link} is a link in ${dir}, which ${writer(dirStats)} can write to`;
  return null;
}

function writer(stats: Stats): string {
  return (stats.mode & 0o002) !== 0 ? "anyone" : `group ${stats.gid}`;
}

/**
 * The paths root writes or acts on (state dir, pf.conf, the launchd dir, bootpd's leases, where
 * the root-owned copy goes): each, or the nearest part of it that exists, must be root's alone.
 * A user who could write any of them could steer what root loads into PF or runs at boot.
 */
export function untrustedPaths(paths: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const [name, file] of Object.entries(paths)) {
    let existing = path.resolve(file);
    while (!existsSync(existing) && existing !== path.dirname(existing)) existing = path.dirname(existing);
    const problem = trustProblem(existing);
    if (problem) problems.push(`${name} (${file}): ${problem}`);
  }
  return problems;
}
