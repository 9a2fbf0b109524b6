// Which node root runs the copy with (host/root-copy.ts chooseNode): one root's all the way up
// where it is, a self-contained one the user owns copied, and a node built with shared
// libraries refused unless root's (Homebrew's loads libuv, openssl … from a user-owned prefix).
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chooseNode } from "../../plugin/host/root-copy.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "limawan-node-"));
chmodSync(dir, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const isRoot = process.getuid?.() === 0;
const SELF_CONTAINED = { variables: { node_shared: false, node_shared_libuv: false } };
const HOMEBREW = { variables: { node_shared_libuv: true, node_shared_openssl: true, node_shared_zlib: false } };

describe.runIf(isRoot)("the node root runs the copy with (needs root to make a user-owned file)", () => {
  const userNode = path.join(dir, "node");
  const rootNode = path.join(dir, "root-node");
  // In beforeAll: vitest runs a describe's body even when runIf skips it.
  beforeAll(() => {
    writeFileSync(userNode, "", { mode: 0o755 });
    chownSync(userNode, 65534, 65534);
    writeFileSync(rootNode, "", { mode: 0o755 });
  });

  it("uses a root-owned node where it is, and copies a self-contained one the user owns", () => {
    expect(chooseNode(rootNode, SELF_CONTAINED)).toEqual({ path: rootNode, copy: false });
    expect(chooseNode(userNode, SELF_CONTAINED)).toEqual({ path: userNode, copy: true });
  });

  it("refuses a user-owned node with shared libraries, naming them and what to install instead", () => {
    expect(() => chooseNode(userNode, HOMEBREW)).toThrow(`${userNode} loads shared libraries (libuv, openssl) from a place root cannot trust (${userNode} belongs to uid 65534, not root), so root must not run it`);
    expect(chooseNode(rootNode, HOMEBREW)).toEqual({ path: rootNode, copy: false });
  });
});
