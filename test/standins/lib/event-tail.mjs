// Following ha.stdout.log like Lima's events.Watch (nxadm/tail with Follow+ReOpen): read from
// the start, re-open when the file is replaced (a new inode at every `limactl start`) or shrinks,
// and pass on events whose time is not before `begin`. fs.watch on the directory reacts at once;
// a short poll covers platforms and races where it does not.
import { closeSync, fstatSync, openSync, readSync, statSync, watch } from "node:fs";
import path from "node:path";
import { parseRfc3339Ns } from "./go-format.mjs";

export const POLL_MS = 25;

export class EventTail {
  /**
   * @param {string} file ha.stdout.log
   * @param {bigint | null} beginNs events with an earlier `time` are skipped; null = all (--history)
   * @param {(event: object, line: string) => void} onEvent
   * @param {(message: string) => void} onError a line that is not an event
   */
  constructor(file, beginNs, onEvent, onError = () => {}) {
    Object.assign(this, { file, beginNs, onEvent, onError });
    this.ino = null;
    this.offset = 0;
    this.partial = Buffer.alloc(0);
    this.timer = null;
    this.watcher = null;
    this.stopped = false;
  }

  start() {
    this.check();
    if (this.stopped) return this; // an event handler already ended it
    this.timer = setInterval(() => this.check(), POLL_MS);
    try {
      this.watcher = watch(path.dirname(this.file), (_event, name) => {
        if (name === null || name === path.basename(this.file)) this.check();
      });
      this.watcher.on("error", () => undefined);
    } catch {
      // the directory is gone or cannot be watched: the poll carries on
    }
    return this;
  }

  stop() {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.watcher?.close();
    this.timer = null;
  }

  /** Synchronous, so a watch event and a poll tick never interleave. */
  check() {
    let stat;
    try {
      stat = statSync(this.file);
    } catch {
      this.ino = null;
      return;
    }
    // A recreated file may get the freed inode number back: birth time tells them apart.
    const identity = `${stat.dev}:${stat.ino}:${stat.birthtimeMs}`;
    if (identity !== this.ino || stat.size < this.offset) {
      this.ino = identity;
      this.offset = 0;
      this.partial = Buffer.alloc(0);
    }
    if (stat.size <= this.offset) return;
    let fd;
    try {
      fd = openSync(this.file, "r");
    } catch {
      return;
    }
    try {
      const opened = fstatSync(fd);
      if (`${opened.dev}:${opened.ino}:${opened.birthtimeMs}` !== this.ino) return; // replaced between stat and open: next check
      const chunk = Buffer.alloc(stat.size - this.offset);
      const read = readSync(fd, chunk, 0, chunk.length, this.offset);
      this.offset += read;
      this.partial = Buffer.concat([this.partial, chunk.subarray(0, read)]);
    } finally {
      closeSync(fd);
    }
    let newline;
    while (!this.stopped && (newline = this.partial.indexOf(0x0a)) >= 0) {
      const line = this.partial.subarray(0, newline).toString("utf8");
      this.partial = this.partial.subarray(newline + 1);
      if (line.trim() === "") continue;
      let event;
      try {
        event = JSON.parse(line);
      } catch (error) {
        this.onError(`failed to unmarshal \`${line}\` as events.Event: ${error.message}`);
        continue;
      }
      const time = parseRfc3339Ns(event.time);
      if (this.beginNs !== null && (time === null || time < this.beginNs)) continue;
      this.onEvent(event, line);
    }
  }
}
