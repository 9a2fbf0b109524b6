// What `npm install -g` of a published tarball gets (npm pack, package.json "files"): the
// launcher, the one-file bundle with its code cache and loader, the samples and docs, and
// nothing it needs from node_modules. Unpacked where no node_modules is near, it still runs.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { codeCacheUsed } from "../code-cache.mjs";

vi.setConfig({ testTimeout: 30_000 });
const REPO = fileURLToPath(new URL("../../", import.meta.url));
let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("the npm package", () => {
  it("unpacked alone, runs plan on its sample with its code cache", () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "limawan-pack-"));
    // --ignore-scripts: pack what `npm test` built (prepare would build it again).
    const packed = JSON.parse(execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", dir], { cwd: REPO, encoding: "utf8" })) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = packed[0]!.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(["plugin/bin/limactl-limawan", "plugin/bin/package.json", "dist/limactl-limawan/start.cjs", "dist/limactl-limawan/main.cjs", "dist/limactl-limawan/main.cjs.cache", "samples/lima.yaml", "docs/security.md"]));
    expect(files.filter((f) => /\.map$|^test\/|^plugin\/(?!bin\/)|^compiler\//.test(f))).toEqual([]);
    execFileSync("tar", ["xzf", path.join(dir, packed[0]!.filename), "-C", dir]);
    const cli = path.join(dir, "package/plugin/bin/limactl-limawan");
    const r = spawnSync(process.execPath, [cli, "plan", path.join(dir, "package/samples/lima.yaml"), "--name", "web"], { cwd: dir, encoding: "utf8", env: { PATH: process.env.PATH } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^rdr on en0 /m);
    expect(codeCacheUsed(path.join(dir, "package/dist/limactl-limawan"))).toBe(true);
  });
});
