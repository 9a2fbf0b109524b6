// `expose` and `unexpose`, run through the real limactl, on every layout an annotation comes in
// — written by hand (block, indented and indentless lists, flow, CRLF) and written by Lima itself
// (`limactl create` of a file with a `base:`, `limactl edit --set`, which put lists in column 0).
// After every edit the real `limactl validate` accepts the file, and Lima reads the same: the
// `config` it lists for the instance is unchanged. The last statement removed takes the key.
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { statementLines } from "../../plugin/annotation-edit-check.js";
import { jsonLines, limaYaml, nonStrictWarnings, REAL_LIMACTL, RealLimaSandbox, tierName } from "./real-lima.js";

vi.setConfig({ testTimeout: 120_000 });

const SSH = "expose ssh 22 as 2222";
const HTTP = "expose http 80 as 8080";
const DNS = "expose dns 53/udp as 5353";
const AFTER = "cpus: 2\nmounts: []\n"; // keys after the annotation, which an edit must not touch

const HAND_WRITTEN: Record<string, string> = {
  block: `x-limawan: |\n  ${SSH}\n  ${HTTP}\n`,
  "indented list": `x-limawan:\n  - ${SSH}\n  - ${HTTP}\n`,
  "indentless list": `x-limawan:\n- ${SSH}\n- ${HTTP}\n`,
  "quoted list items": `x-limawan:\n- "${SSH}"\n- '${HTTP}'\n`,
};

describe.skipIf(!REAL_LIMACTL)(tierName("expose and unexpose, checked by the real limactl"), () => {
  let sb: RealLimaSandbox;
  beforeEach(() => {
    sb = new RealLimaSandbox();
    sb.write(path.join(sb.root, "disk.img"), "\0".repeat(65536));
  });
  afterEach(async () => {
    await sb.cleanup();
  });

  const file = (name: string) => path.join(sb.limaHome, name, "lima.yaml");
  const text = (name: string) => readFileSync(file(name), "utf8");
  /** What Lima makes of the instance: its `config`, and the warnings listing it costs. */
  async function limaReading(name: string): Promise<{ config: unknown; warnings: number }> {
    const listed = await sb.limactl(["list", "--json", name]);
    expect(listed.exitCode, String(listed.stderr)).toBe(0);
    return { config: jsonLines(String(listed.stdout))[0]!.config, warnings: nonStrictWarnings(String(listed.stderr)) };
  }
  async function validates(name: string): Promise<void> {
    const validated = await sb.limactl(["validate", file(name)]);
    expect([validated.exitCode, String(validated.stderr)]).toEqual([0, expect.stringContaining(`msg="\`${file(name)}\`: OK"`)]);
  }
  const plugin = (...args: string[]) => sb.limactl(["limawan", ...args]);

  /** expose, then unexpose back, then every statement away: validated and read the same each time. */
  async function editCycle(name: string, options: { canAdd?: boolean } = {}): Promise<void> {
    const original = text(name);
    const statements = statementLines(original);
    await validates(name);
    const before = await limaReading(name);
    expect(before.config).toBeDefined();
    expect(before.warnings).toBe(1); // the unknown key, once per listing

    if (options.canAdd !== false) {
      const exposed = await plugin("expose", name, DNS.replace(/^expose /, ""));
      expect(exposed.exitCode, String(exposed.stderr)).toBe(0);
      expect(statementLines(text(name))).toEqual([...statements, DNS]);
      await validates(name);
      expect(await limaReading(name)).toEqual(before);
      const unexposed = await plugin("unexpose", name, "dns");
      expect(unexposed.exitCode, String(unexposed.stderr)).toBe(0);
      expect(text(name)).toBe(original); // byte for byte
    }
    for (const [i, forward] of ["ssh", "http"].entries()) {
      const removed = await plugin("unexpose", name, forward);
      expect(removed.exitCode, String(removed.stderr)).toBe(0);
      expect(statementLines(text(name))).toEqual(statements.slice(i + 1));
      await validates(name);
      const now = await limaReading(name);
      expect(now.config).toEqual(before.config);
      // The last statement gone, the key is gone: Lima has nothing left to warn about.
      expect(now.warnings).toBe(i === 1 ? 0 : 1);
    }
    expect(text(name)).not.toMatch(/x-limawan/);
  }

  for (const [layout, annotation] of Object.entries(HAND_WRITTEN)) {
    it(`a hand-written ${layout}`, async () => {
      sb.instance("vm", `${limaYaml(sb)}${annotation}${AFTER}`);
      await editCycle("vm");
    });
  }

  it("a one-line flow list: unexpose edits it (expose refuses to rewrite it)", async () => {
    sb.instance("vm", `${limaYaml(sb)}x-limawan: ["${SSH}", "${HTTP}"]\n${AFTER}`);
    const refused = await plugin("expose", "vm", "dns 53/udp as 5353");
    expect([refused.exitCode, String(refused.stderr)]).toEqual([1, expect.stringMatching(/neither a literal block \(\|\) nor a list/)]);
    await editCycle("vm", { canAdd: false });
  });

  it("a CRLF file, block and indentless list alike", async () => {
    sb.instance("block", `${limaYaml(sb)}${HAND_WRITTEN.block}${AFTER}`.replace(/\n/g, "\r\n"));
    sb.instance("list", `${limaYaml(sb)}${HAND_WRITTEN["indentless list"]}${AFTER}`.replace(/\n/g, "\r\n"));
    await editCycle("block");
    await editCycle("list");
    expect(text("block").replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
  });

  it("a file `limactl create` wrote from a template with a `base:` (merged, lists in column 0)", async () => {
    const base = path.join(sb.root, "base.yaml");
    sb.write(base, limaYaml(sb));
    const template = path.join(sb.root, "vm.yaml");
    sb.write(template, `base: ${base}\ncpus: 2\nx-limawan:\n  - ${SSH}\n  - ${HTTP}\n`);
    // Creating the disk needs qemu-img, which this machine may lack: lima.yaml is written before that.
    await sb.limactl(["create", "--tty=false", "--name=vm", template]);
    expect(text("vm")).toMatch(new RegExp(`^x-limawan:\\n- ${SSH}\\n- ${HTTP}\\n`, "m"));
    expect(text("vm")).not.toMatch(/^base:/m);
    await editCycle("vm");
  });

  it("a file `limactl edit --set` rewrote (lists in column 0)", async () => {
    sb.instance("vm", `${limaYaml(sb)}${AFTER}`);
    const edited = await sb.limactl(["edit", "--tty=false", "vm", "--set", `."x-limawan" = ["${SSH}", "${HTTP}"]`]);
    expect(edited.exitCode, String(edited.stderr)).toBe(0);
    expect(text("vm")).toMatch(new RegExp(`^x-limawan:\\n- ${SSH}\\n- ${HTTP}\\n`, "m"));
    await editCycle("vm");
  });

  it("the samples' word on Lima's warnings is what Lima does: create, validate, list, watch", async () => {
    // samples/lima.yaml with what Lima on Linux takes: a local base template, a socket network.
    const sample = readFileSync(new URL("../../samples/lima.yaml", import.meta.url), "utf8");
    const said = /\((\d+) during `limactl create` of this file, (\d+) for `limactl validate`, then one each time `limactl\n# list` or `limactl watch` runs\)/.exec(sample);
    expect(said, "the sample's comment on the warnings").not.toBeNull();
    const base = path.join(sb.root, "base.yaml");
    sb.write(base, limaYaml(sb).replace(/^networks:[\s\S]*$/m, ""));
    const template = path.join(sb.root, "web.yaml");
    sb.write(template, sample.replace(/^base: .*$/m, `base: ${base}`).replace("- lima: shared", `- socket: ${sb.root}/vmnet.sock`));
    const created = await sb.limactl(["create", "--tty=false", "--name=web", template]);
    expect(nonStrictWarnings(String(created.stderr))).toBe(Number(said![1]));
    expect(nonStrictWarnings(String((await sb.limactl(["validate", template])).stderr))).toBe(Number(said![2]));
    expect(nonStrictWarnings(String((await sb.limactl(["list", "web"])).stderr))).toBe(1);
  });
});
