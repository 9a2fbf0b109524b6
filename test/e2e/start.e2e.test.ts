// How the built CLI starts (plugin/start.cts): the bundle is compiled with the code cache the
// build made for it, a cache made for another build or refused by V8 is ignored (the CLI still
// runs, only slower), and a missing bundle is a message, not a stack trace. Each case runs in a
// node of its own, started as the CLI is, so V8's flags are a start's.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { codeCacheUsed } from "../code-cache.mjs";

const BUILT = fileURLToPath(new URL("../../dist/limactl-limawan/", import.meta.url));
const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

const cli = (dir: string, ...args: string[]) => spawnSync(process.execPath, [path.join(dir, "start.cjs"), ...args], { encoding: "utf8", env: { PATH: process.env.PATH } });

let copy: string;
beforeEach(() => {
  copy = mkdtempSync(path.join(os.tmpdir(), "limawan-start-"));
  cpSync(BUILT, copy, { recursive: true });
});
afterEach(() => rmSync(copy, { recursive: true, force: true }));

describe("start-up", () => {
  it("compiles the bundle with the code cache the build made for it", () => {
    const bundleId = readFileSync(path.join(BUILT, "main.cjs"), "utf8").split("\n", 1)[0]!.replace("// limawan-build ", "");
    expect(bundleId).toMatch(/^[0-9a-f]{16}$/);
    expect(readFileSync(path.join(BUILT, "main.cjs.cache")).toString("latin1", 0, 17)).toBe(`${bundleId}\n`);
    expect(codeCacheUsed(BUILT)).toBe(true);
    expect(cli(BUILT, "--version").stdout).toBe(`limactl-limawan ${version}\n`);
  });

  it("ignores a cache made for another build and still runs", () => {
    const cache = readFileSync(path.join(copy, "main.cjs.cache"));
    writeFileSync(path.join(copy, "main.cjs.cache"), Buffer.concat([Buffer.from("0123456789abcdef\n"), cache.subarray(17)]));
    expect(codeCacheUsed(copy)).toBe(false);
    const r = cli(copy, "--version");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`limactl-limawan ${version}\n`);
  });

  it("runs without the cache when V8 refuses it (another node, or damaged)", () => {
    const cache = readFileSync(path.join(copy, "main.cjs.cache"));
    writeFileSync(path.join(copy, "main.cjs.cache"), Buffer.concat([cache.subarray(0, 17), Buffer.alloc(4096, 0x5a)]));
    expect(codeCacheUsed(copy)).toBe(false);
    const r = cli(copy, "plan", fileURLToPath(new URL("../../samples/lima.yaml", import.meta.url)), "--name", "web");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^rdr on en0 /m);
  });

  it("runs without a cache file", () => {
    rmSync(path.join(copy, "main.cjs.cache"));
    expect(codeCacheUsed(copy)).toBe(false);
    expect(cli(copy, "--version").status).toBe(0);
  });

  it("names the missing bundle and what to run, without a stack trace", () => {
    rmSync(path.join(copy, "main.cjs"));
    const r = cli(copy, "status");
    expect(r.status).toBe(3);
    expect(r.stderr).toBe(`limactl-limawan: LimaWAN's bundle ${path.join(copy, "main.cjs")} cannot be read (ENOENT): run \`npm run build\` in LimaWAN's checkout\n`);
  });
});
