// Reading the user's files as root (host/files.ts readUserFile): only a regular file, only the
// owner's when one is named, and a log's tail without reading the rest.
import { execFile, execFileSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
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

  it("never makes a terminal it is pointed at its process's controlling terminal (O_NOCTTY)", async () => {
    // A session leader without a controlling terminal (the launchd daemon) that opens a terminal
    // without O_NOCTTY acquires it (POSIX open(); Linux's tty_open and XNU's alike): a hangup
    // there then signals root's process, and the terminal's owner could send it signals.
    // python3's pty makes a terminal no session owns; the reader runs as a new session's leader.
    const files = pathToFileURL(fileURLToPath(new URL("../../dist/plugin/host/files.js", import.meta.url))).href;
    const reader = path.join(dir, "reader.mjs");
    writeFileSync(
      reader,
      `import { openSync } from "node:fs";
import { readUserFile } from ${JSON.stringify(files)};
const [terminal, how] = process.argv.slice(2);
if (how === "plain") openSync(terminal, "r"); // the control: what an open without O_NOCTTY does
else await readUserFile(terminal, null).catch((error) => console.log(error.message.replace(terminal, "TTY")));
try { openSync("/dev/tty", "r"); console.log("controlling terminal: yes"); } catch { console.log("controlling terminal: no"); }
`,
    );
    const python = `import os, pty, subprocess, sys
master, slave = pty.openpty()
name = os.ttyname(slave)
os.close(slave)
r = subprocess.run([sys.argv[1], sys.argv[2], name, sys.argv[3]], start_new_session=True, capture_output=True, text=True, timeout=30)
sys.stdout.write(r.stdout + r.stderr)`;
    // The control and the case side by side: each is a python and a node start.
    const run = async (how: string) => (await promisify(execFile)("python3", ["-c", python, process.execPath, reader, how], { encoding: "utf8" })).stdout;
    const [plain, guarded] = await Promise.all([run("plain"), run("readUserFile")]);
    expect(plain).toBe("controlling terminal: yes\n");
    expect(guarded).toBe("refusing to read TTY: it is not a regular file\ncontrolling terminal: no\n");
  });
});
