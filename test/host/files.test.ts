// Reading the user's files as root (host/files.ts readUserFile): only a regular file, only the
// owner's when one is named, and a log's tail without reading the rest.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readUserFile } from "../../plugin/host/files.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "limawan-files-"));
chmodSync(dir, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("readUserFile", () => {
  it("refuses a FIFO unread (a plain read would wait forever) and a device", async () => {
    const fifo = path.join(dir, "fifo.yaml");
    execFileSync("mkfifo", [fifo]);
    await expect(readUserFile(fifo, null)).rejects.toThrow(`refusing to read ${fifo}: it is not a regular file`);
    await expect(readUserFile("/dev/zero", null)).rejects.toThrow("refusing to read /dev/zero: it is not a regular file");
  });

  it("reads the owner's file through a link, and refuses another's", async () => {
    const file = path.join(dir, "lima.yaml");
    writeFileSync(file, "x-limawan: |\n  expose ssh 22 as 2222\n");
    const uid = process.getuid!();
    expect(await readUserFile(file, uid)).toMatch(/expose ssh/);
    expect(await readUserFile(file, null)).toMatch(/expose ssh/);
    await expect(readUserFile(file, uid + 1)).rejects.toThrow(`refusing to read ${file}: it belongs to uid ${uid}, not to the user LimaWAN reads it for (uid ${uid + 1})`);
  });

  it("reads only a log's tail", async () => {
    const log = path.join(dir, "ha.stdout.log");
    writeFileSync(log, `${"x".repeat(100_000)}\nlast line\n`);
    expect(await readUserFile(log, null, { tail: 16 })).toBe("xxxxx\nlast line\n");
  });
});
