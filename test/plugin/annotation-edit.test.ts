import { describe, expect, it } from "vitest";
import { addStatement, normaliseStatement, removeForward } from "../../plugin/annotation-edit.js";

const BLOCK = `# my VM
cpus: 4   # keep this comment
networks:
  - lima: shared
x-limawan: |
  interface en0     # WAN
  expose ssh 22 as 2222

mounts: []
`;

const LIST = `x-limawan:
  - 'expose ssh 22 as 2222'
  - expose http 80 as 8080
# trailing comment
`;

function ok(result: { ok: boolean; text?: string; reason?: string }): string {
  if (!result.ok) throw new Error(result.reason);
  return result.text!;
}

describe("expose edits the annotation and nothing else", () => {
  it("appends to a literal block with the block's indentation, other bytes unchanged", () => {
    const text = ok(addStatement(BLOCK, "expose http 80 as 8080"));
    expect(text).toBe(BLOCK.replace("  expose ssh 22 as 2222\n", "  expose ssh 22 as 2222\n  expose http 80 as 8080\n"));
  });

  it("appends an item to a list, in the list's layout", () => {
    const text = ok(addStatement(LIST, "expose dns 53/udp as 5353"));
    expect(text).toBe(LIST.replace("  - expose http 80 as 8080\n", '  - expose http 80 as 8080\n  - "expose dns 53/udp as 5353"\n'));
  });

  it("adds a new annotation block at the end of a file without one", () => {
    expect(ok(addStatement("cpus: 2\n", "expose ssh as 2222"))).toBe("cpus: 2\nx-limawan: |\n  expose ssh as 2222\n");
  });

  it("fills an empty x-limawan key, keeping its comment", () => {
    expect(ok(addStatement("x-limawan:  # later\ncpus: 2\n", "expose ssh as 2222"))).toBe("x-limawan: |  # later\n  expose ssh as 2222\ncpus: 2\n");
  });

  it("refuses a flow list or plain string rather than rewriting it", () => {
    expect(addStatement('x-limawan: ["expose ssh as 2222"]\n', "expose http 80 as 8080").ok).toBe(false);
    expect(addStatement("x-limawan: expose ssh as 2222\n", "expose http 80 as 8080").ok).toBe(false);
  });

  it("refuses a statement with a newline (no smuggled second statement)", () => {
    expect(normaliseStatement("http 80 as 8080\nexpose evil 22 as 2222").ok).toBe(false);
    expect(normaliseStatement("http 80 as 8080")).toEqual({ ok: true, text: "expose http 80 as 8080" });
    expect(normaliseStatement("allow privileged")).toEqual({ ok: true, text: "allow privileged" });
  });
});

describe("unexpose removes exactly the statement's line", () => {
  it("from a block", () => {
    expect(ok(removeForward(BLOCK, "lima.yaml", "ssh"))).toBe(BLOCK.replace("  expose ssh 22 as 2222\n", ""));
  });

  it("from a list, by a derived name", () => {
    const list = "x-limawan:\n  - expose 22 as 2222\n  - expose http 80 as 8080\n";
    expect(ok(removeForward(list, "lima.yaml", "tcp-22"))).toBe("x-limawan:\n  - expose http 80 as 8080\n");
  });

  it("says which names exist when the name is unknown", () => {
    const result = removeForward(BLOCK, "lima.yaml", "shh");
    expect(result.ok).toBe(false);
    expect(result.names).toEqual(["ssh"]);
  });
});
