// Watching the instance directories under $LIMA_HOME (LIMA-FACTS.md §3, §4): what `limactl
// watch` does not report (an instance created or deleted, its lima.yaml edited, its host agent
// gone after `stop -f` or a crash), and everything for Lima < 2.1, whose only event record is
// ha.stdout.log. fs.watch only: the watcher (engine/watcher.ts) decides what each change means.
import { existsSync, watch as fsWatch, type FSWatcher } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { readUserFile } from "./files.js";
import { parseEventPhase, type LimaEvent } from "./lima-events.js";

/** Lima's rule for an instance directory's name: not starting with `_` or `.` (LIMA-FACTS.md §3). */
export function isInstanceDir(name: string): boolean {
  return !name.startsWith("_") && !name.startsWith(".");
}

export interface InstanceHandlers {
  configChanged(name: string): void;
  /** ha.pid appeared (a start in progress) or disappeared (stopped, killed, crashed). */
  hostAgent(name: string, present: boolean): void;
  deleted(name: string): void;
  /** Whether the instance's ha.stdout.log should be read (no `limactl watch` stream says its events). */
  wantsEventLog(name: string): boolean;
  event(event: LimaEvent): void;
  /** The Lima home, missing when the watch began, now exists. */
  homeAppeared(): void;
}

/** A running watch: what it watches (the Lima home, or its parent until the home appears), and how to stop it. */
export interface InstanceWatch { close(): void; watching: "home" | "parent" | null }

/**
 * Watch $LIMA_HOME and each instance directory in it. ha.stdout.log's newest event is read
 * (owner-checked, its last 64 KiB) for the instances `wantsEventLog` names (no event stream, or
 * one that does not follow them). A Lima home that does not exist yet is
 * waited for in its parent directory; `homeAppeared` says when it comes.
 */
export async function watchInstanceDirs(limaHome: string, owner: number | null, handlers: InstanceHandlers): Promise<InstanceWatch> {
  const watchers = new Map<string, FSWatcher>();
  const watchOne = (name: string) => {
    const dir = path.join(limaHome, name);
    try {
      const watcher = fsWatch(dir, (_event, file) => {
        if (file === "lima.yaml") handlers.configChanged(name);
        else if (file === "ha.pid") handlers.hostAgent(name, existsSync(path.join(dir, file)));
        else if (file === "ha.stdout.log" && handlers.wantsEventLog(name)) void lastLoggedEvent(limaHome, owner, name).then((e) => e && handlers.event(e));
      });
      watcher.on("error", () => undefined);
      watchers.set(name, watcher);
    } catch {
      // The directory went away between the scan and the watch.
    }
  };
  const scan = async () => {
    const entries = await readdir(limaHome, { withFileTypes: true }).catch(() => []);
    const names = new Set(entries.filter((e) => e.isDirectory() && isInstanceDir(e.name)).map((e) => e.name));
    for (const name of names) if (!watchers.has(name)) watchOne(name);
    for (const [name, watcher] of watchers) {
      if (!names.has(name)) {
        watcher.close();
        watchers.delete(name);
        handlers.deleted(name);
      }
    }
  };
  let home: FSWatcher | null = null;
  let parent: FSWatcher | null = null;
  const watchHome = (): boolean => {
    try {
      home = fsWatch(limaHome, () => void scan());
      home.on("error", () => undefined);
      return true;
    } catch {
      return false;
    }
  };
  await scan();
  if (!watchHome() && !existsSync(limaHome)) {
    // No Lima home yet (no instance was ever made): its parent says when it is created.
    try {
      parent = fsWatch(path.dirname(limaHome), (_event, file) => {
        if (home || (file !== null && file !== path.basename(limaHome)) || !watchHome()) return;
        parent?.close();
        parent = null;
        void scan().then(() => handlers.homeAppeared());
      });
      parent.on("error", () => undefined);
    } catch {
      parent = null;
    }
  }
  return {
    watching: home !== null ? "home" : parent !== null ? "parent" : null,
    close: () => {
      (home as FSWatcher | null)?.close();
      (parent as FSWatcher | null)?.close();
      for (const w of watchers.values()) w.close();
    },
  };
}

async function lastLoggedEvent(limaHome: string, owner: number | null, name: string): Promise<LimaEvent | null> {
  const text = await readUserFile(path.join(limaHome, name, "ha.stdout.log"), owner, { tail: 64 * 1024 }).catch(() => "");
  const last = text.trimEnd().split("\n").pop();
  const phase = last ? parseEventPhase(last) : null;
  return phase ? { instance: name, phase } : null;
}
