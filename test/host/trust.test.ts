// What root may trust (host/trust.ts) and how root writes its files (host/atomic-write.ts).
import { chmodSync, chownSync, lchownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeAtomic } from "../../plugin/host/atomic-write.js";
import { trustProblem, untrustedPaths } from "../../plugin/host/trust.js";

const root = mkdtempSync(path.join(os.tmpdir(), "limawan-trust-"));
chmodSync(root, 0o755);
afterAll(() => rmSync(root, { recursive: true, force: true }));
const isRoot = process.getuid?.() === 0;

describe.runIf(isRoot)("trustProblem (needs root to make files of other owners)", () => {
  it("trusts what root alone can change, all the way up (a root sticky directory such as /tmp may be on the way)", () => {
    const file = path.join(root, "ok");
    writeFileSync(file, "", { mode: 0o644 });
    expect(trustProblem(file)).toBeNull();
    expect(trustProblem(root)).toBeNull();
  });

  it("names the first component a user owns or others can write, the file itself or a directory above it", () => {
    const userDir = path.join(root, "user");
    mkdirSync(userDir, { mode: 0o755 });
    writeFileSync(path.join(userDir, "f"), "", { mode: 0o644 });
    chownSync(userDir, 65534, 65534);
    expect(trustProblem(path.join(userDir, "f"))).toBe(`${userDir} belongs to uid 65534, not root`);
    const groupWritable = path.join(root, "gw");
    writeFileSync(groupWritable, "", { mode: 0o664 });
    chmodSync(groupWritable, 0o664);
    expect(trustProblem(groupWritable)).toBe(`${groupWritable} can be written by group 0`);
    const worldDir = path.join(root, "world");
    mkdirSync(worldDir);
    chmodSync(worldDir, 0o777); // not sticky: others could replace what is in it
    writeFileSync(path.join(worldDir, "f"), "", { mode: 0o644 });
    expect(trustProblem(path.join(worldDir, "f"))).toBe(`${worldDir} can be written by anyone`);
  });

  it("follows a symlink to what it names, and checks both spellings", () => {
    const userDir = path.join(root, "user2");
    mkdirSync(userDir);
    chownSync(userDir, 65534, 65534);
    const target = path.join(root, "target");
    writeFileSync(target, "", { mode: 0o644 });
    const link = path.join(userDir, "link");
    symlinkSync(target, link);
    expect(trustProblem(link)).toBe(`${userDir} belongs to uid 65534, not root`);
    const rootLink = path.join(root, "root-link");
    symlinkSync(path.join(userDir, "nothing"), rootLink);
    expect(trustProblem(rootLink)).toMatch(/cannot be read \(ENOENT\)/);
  });

  it("refuses a link a user made, even to a root-owned program in a root-owned directory (/Users/Shared/launchctl → /usr/bin/env)", () => {
    const shared = path.join(root, "Shared");
    mkdirSync(shared);
    chmodSync(shared, 0o1777); // /Users/Shared: root's, sticky, anyone may add to it
    const target = path.join(root, "env");
    writeFileSync(target, "", { mode: 0o755 });
    const planted = path.join(shared, "launchctl");
    symlinkSync(target, planted);
    lchownSync(planted, 65534, 65534);
    expect(trustProblem(planted)).toBe(`${planted} is a link made by uid 65534, not root`);
    // Root's own link there is no better: anyone could have put it there first, or a sibling beside it.
    const rootsLink = path.join(shared, "pfctl");
    symlinkSync(target, rootsLink);
    expect(trustProblem(rootsLink)).toBe(`${rootsLink} is a link in ${shared}, which anyone can write to`);
    // A real file in the sticky directory stays root's: others cannot rename or remove it.
    const file = path.join(shared, "file");
    writeFileSync(file, "", { mode: 0o644 });
    expect(trustProblem(file)).toBeNull();
  });

  it("trusts root's link in a directory only root can change (/sbin → usr/sbin)", () => {
    const dir = path.join(root, "usr-sbin");
    mkdirSync(dir, { mode: 0o755 });
    writeFileSync(path.join(dir, "pfctl"), "", { mode: 0o755 });
    const link = path.join(root, "sbin");
    symlinkSync("usr-sbin", link);
    expect(trustProblem(path.join(link, "pfctl"))).toBeNull();
    // The same link in a group-writable directory is not.
    const groupDir = path.join(root, "group-writable");
    mkdirSync(groupDir);
    chmodSync(groupDir, 0o775);
    symlinkSync(dir, path.join(groupDir, "sbin"));
    expect(trustProblem(path.join(groupDir, "sbin", "pfctl"))).toBe(`${groupDir}/sbin is a link in ${groupDir}, which group 0 can write to`);
  });

  it("checks the nearest existing part of a path that does not exist yet (a state dir made later)", () => {
    expect(untrustedPaths({ "state dir": path.join(root, "not", "yet") })).toEqual([]);
    const userDir = path.join(root, "user3");
    mkdirSync(userDir);
    chownSync(userDir, 65534, 65534);
    expect(untrustedPaths({ "state dir": path.join(userDir, "state") })).toEqual([`state dir (${userDir}/state): ${userDir} belongs to uid 65534, not root`]);
  });
});

describe("writeAtomic", () => {
  it("refuses to write through a symlink (one in a root-only directory was planted), and writes a plain file", async () => {
    const target = path.join(root, "elsewhere");
    writeFileSync(target, "untouched");
    const link = path.join(root, "state.json");
    symlinkSync(target, link);
    await expect(writeAtomic(link, "{}", { mode: 0o600 })).rejects.toThrow(/refusing to write .*state\.json: it is a symbolic link/);
    expect(readFileSync(target, "utf8")).toBe("untouched");
    const plain = path.join(root, "plain.json");
    await writeAtomic(plain, "{}", { mode: 0o600 });
    expect(readFileSync(plain, "utf8")).toBe("{}");
  });
});
