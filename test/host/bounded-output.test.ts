// Programs' output read within bounds (plugin/host/bounded-output.ts and run.ts): whatever a
// program prints, LimaWAN keeps at most the limit, stops the program past it, and never waits
// on a pipe a program it started still holds.
import fc from "fast-check";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BoundedBytes, BoundedLines, OUTPUT_LIMIT_BYTES } from "../../plugin/host/bounded-output.js";
import { createRunner, OutputTooLarge } from "../../plugin/host/run.js";
import { EXIT } from "../../plugin/errors.js";

describe("BoundedBytes", () => {
  it("keeps chunks up to the limit and decodes them once, a character split across chunks included", () => {
    const bytes = new BoundedBytes(8);
    const euro = Buffer.from("€"); // three bytes
    expect(bytes.add(Buffer.from("ab"))).toBe(true);
    expect(bytes.add(euro.subarray(0, 1))).toBe(true);
    expect(bytes.add(euro.subarray(1))).toBe(true);
    expect(bytes.text()).toBe("ab€");
    expect(bytes.add(Buffer.from("cdef"))).toBe(false);
    expect(bytes.exceeded).toBe(true);
    expect(bytes.add(Buffer.from("g"))).toBe(false); // nothing more once past it
  });
});

describe("BoundedLines", () => {
  it("gives the same lines however the bytes are cut into chunks, while each line is within the limit", () => {
    const line = fc.string({ unit: fc.constantFrom("a", "é", "{", "\r", "€"), maxLength: 12 });
    fc.assert(
      fc.property(fc.array(line, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (lines, cuts) => {
        const bytes = Buffer.from(lines.map((l) => `${l}\n`).join(""));
        const reader = new BoundedLines(64);
        const read: string[] = [];
        let from = 0;
        for (const cut of [...cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b), bytes.length]) {
          read.push(...reader.add(bytes.subarray(from, Math.max(from, cut)))!);
          from = Math.max(from, cut);
        }
        expect(read).toEqual(lines);
      }),
    );
  });

  it("stops at a line longer than the limit, newline or not, and reads nothing after it", () => {
    const reader = new BoundedLines(10);
    expect(reader.add(Buffer.from("short\n0123456789"))).toEqual(["short"]);
    expect(reader.add(Buffer.from("X\nafter\n"))).toBeNull();
    expect(reader.add(Buffer.from("more\n"))).toBeNull();
    expect(new BoundedLines(10).add(Buffer.alloc(11, 0x78))).toBeNull(); // no newline at all
  });
});

describe("programs run through the Runner", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "limawan-bounded-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // A limactl on PATH (the one program the Runner finds there) that prints what a test asks.
  const limactl = path.join(dir, "limactl");
  writeFileSync(
    limactl,
    `#!/bin/sh
case "$1" in
  flood) head -c "$2" /dev/zero | tr '\\0' x ;;
  flood-stderr) head -c "$2" /dev/zero | tr '\\0' x >&2 ;;
  # The program ends at once; one it started goes on printing into the same pipe (ssh, under limactl shell).
  behind) yes & echo $! > "$2"; wait ;;
  watch) echo '{"instance":"web","event":{"status":{"running":true}}}'; head -c "$2" /dev/zero | tr '\\0' x; echo; echo '{"instance":"web","event":{"status":{"exiting":true}}}'; sleep 30 ;;
  *) echo "ok $*" ;;
esac
`,
  );
  chmodSync(limactl, 0o755);
  const runner = createRunner({ env: { PATH: `${dir}:/usr/bin:/bin` }, user: null, limaHome: dir, dryRun: false, report: () => undefined });

  it("reads an ordinary answer whole", async () => {
    expect(await runner.run("limactl", ["list", "--json"])).toEqual({ exitCode: 0, stdout: "ok list --json\n", stderr: "" });
  });

  it.each(["flood", "flood-stderr"])("stops a program printing 600 MB (%s) after 1 MiB: a host command failure naming it", async (mode) => {
    const started = Date.now();
    const error = await runner.run("limactl", [mode, String(600 * 1024 * 1024)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutputTooLarge);
    expect((error as OutputTooLarge).exitCode).toBe(EXIT.HOST_COMMAND);
    expect((error as OutputTooLarge).message).toBe(
      `\`limactl ${mode} 629145600\` printed more than 1 MiB on ${mode === "flood" ? "stdout" : "stderr"}; LimaWAN stopped it and used none of it`,
    );
    expect(Date.now() - started).toBeLessThan(20_000); // not the time 600 MB takes through a pipe on a busy machine
  });

  it("takes exactly the limit, and a larger limit where the caller sets one", async () => {
    expect((await runner.run("limactl", ["flood", String(OUTPUT_LIMIT_BYTES)])).stdout).toHaveLength(OUTPUT_LIMIT_BYTES);
    await expect(runner.run("limactl", ["flood", String(OUTPUT_LIMIT_BYTES + 1)])).rejects.toBeInstanceOf(OutputTooLarge);
    expect((await runner.run("limactl", ["flood", String(3 * OUTPUT_LIMIT_BYTES)], { outputLimit: 4 * OUTPUT_LIMIT_BYTES })).stdout).toHaveLength(3 * OUTPUT_LIMIT_BYTES);
  });

  it("does not wait for a program the stopped one started: its pipe is closed, and it ends", async () => {
    const pidFile = path.join(dir, "behind.pid");
    await expect(runner.run("limactl", ["behind", pidFile])).rejects.toBeInstanceOf(OutputTooLarge);
    const pid = Number(readFileSync(pidFile, "utf8"));
    const gone = async () => {
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
        // A zombie still answers kill(0) until reaped: read its state instead where /proc has it.
        const status = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, "utf8").split(" ")[2] : null;
        if (status === null || status === "Z") return true;
      }
      return false;
    };
    expect(await gone()).toBe(true); // `yes` died of EPIPE: nothing keeps printing into a closed pipe
  });

  it("stops a followed stream at a line longer than 1 MiB, having passed on the lines before it", async () => {
    const lines: string[] = [];
    const stream = runner.stream("limactl", ["watch", String(OUTPUT_LIMIT_BYTES + 1)], { onLine: (line) => lines.push(line) });
    expect(await stream.exited).toBe(`\`limactl watch ${OUTPUT_LIMIT_BYTES + 1}\` printed a line longer than 1 MiB; LimaWAN stopped it`);
    expect(lines).toEqual(['{"instance":"web","event":{"status":{"running":true}}}']);
  });

  it("passes on every line of a followed stream within the limit, and says nothing of one that ends by itself", async () => {
    const lines: string[] = [];
    const stream = runner.stream("limactl", ["watch", String(OUTPUT_LIMIT_BYTES)], { onLine: (line) => lines.push(line) });
    for (const deadline = Date.now() + 10_000; lines.length < 3 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
    expect(lines.map((l) => (l.startsWith("{") ? JSON.parse(l) : l.length))).toEqual([
      { instance: "web", event: { status: { running: true } } },
      OUTPUT_LIMIT_BYTES,
      { instance: "web", event: { status: { exiting: true } } },
    ]);
    stream.stop();
    expect(await stream.exited).toBeNull();
  });
});
