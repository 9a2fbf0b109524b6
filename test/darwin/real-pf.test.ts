// Checks against the real macOS pfctl and kernel. They run only on darwin with passwordless
// sudo (the macOS CI runner, .github/workflows/macos.yml); elsewhere they are reported as
// skipped with the reason in their name — never faked.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emitAnchor } from "../../compiler/emit-pf.js";
import type { InterfaceName, Ipv4Address } from "../../compiler/ir.js";
import { compileFile } from "../../compiler/pipeline.js";
import { insertAnchorPoints } from "../../plugin/engine/pf-conf-edit.js";

const isDarwin = process.platform === "darwin";
const canSudo = isDarwin && spawnSync("sudo", ["-n", "true"]).status === 0;
const REASON = !isDarwin ? "needs macOS pfctl (not darwin)" : !canSudo ? "needs passwordless sudo for pfctl" : "";

function sudoPfctl(args: string[], input?: string): { status: number; stderr: string; stdout: string } {
  const r = spawnSync("sudo", ["-n", "pfctl", ...args], { input, encoding: "utf8" });
  return { status: r.status ?? 1, stderr: r.stderr, stdout: r.stdout };
}

const samples = fileURLToPath(new URL("../../samples", import.meta.url));

describe.runIf(canSudo)("real macOS pfctl", () => {
  it("accepts every bundled sample's compiled anchor (pfctl -n -a limawan -f -)", () => {
    for (const file of readdirSync(samples).filter((f) => f.endsWith(".yaml") && f !== "broken.yaml")) {
      const result = compileFile({ vm: path.basename(file, ".yaml"), file, text: readFileSync(path.join(samples, file), "utf8") });
      expect(result.spec, file).not.toBeNull();
      const emitted = emitAnchor([{ spec: result.spec!, address: "192.168.105.2" as Ipv4Address }], { defaultInterfaces: ["en0" as InterfaceName] });
      if (!emitted.ok) throw new Error(JSON.stringify(emitted.diagnostics));
      const check = sudoPfctl(["-n", "-a", "limawan", "-f", "-"], emitted.text);
      expect(check.stderr.replace(/^(No ALTQ support in kernel|ALTQ related functions disabled)\n/gm, ""), file).toBe("");
      expect(check.status, file).toBe(0);
    }
  });

  it("rejects what LimaWAN must never emit (rdr-to), proving the check is real", () => {
    const check = sudoPfctl(["-n", "-a", "limawan", "-f", "-"], "pass in on en0 proto tcp to port 2222 rdr-to 192.168.105.2 port 22\n");
    expect(check.status).not.toBe(0);
  });

  describe("a real rdr through the named anchor points, on lo0 to a local listener", () => {
    let token = "";
    let server: net.Server;
    const dir = mkdtempSync(path.join(os.tmpdir(), "limawan-darwin-"));
    const targetPort = 18_081;
    const publicPort = 18_080;

    beforeAll(async () => {
      server = net.createServer((socket) => socket.end("limawan-ok\n"));
      await new Promise<void>((resolve) => server.listen(targetPort, "127.0.0.1", resolve));
      const conf = insertAnchorPoints(readFileSync("/etc/pf.conf", "utf8"));
      if (!conf.ok) throw new Error(conf.reason);
      const confFile = path.join(dir, "pf.conf");
      writeFileSync(confFile, conf.text);
      expect(sudoPfctl(["-f", confFile]).status).toBe(0);
      const enabled = sudoPfctl(["-E"]);
      token = /Token\s*:\s*(\d+)/.exec(enabled.stderr + enabled.stdout)?.[1] ?? "";
      // PF-FACTS.md §5: an lo0 rdr to a local listener works when reached from a top-level rdr-anchor.
      const anchor = `rdr pass on lo0 inet proto tcp from any to 127.0.0.1 port ${publicPort} -> 127.0.0.1 port ${targetPort}\n`;
      expect(sudoPfctl(["-a", "limawan", "-f", "-"], anchor).status).toBe(0);
    });

    afterAll(() => {
      server?.close();
      sudoPfctl(["-a", "limawan", "-F", "all"]);
      sudoPfctl(["-f", "/etc/pf.conf"]);
      if (token) sudoPfctl(["-X", token]);
    });

    it("redirects a connection to the listener", async () => {
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(publicPort, "127.0.0.1");
        let data = "";
        socket.on("data", (d) => (data += d));
        socket.on("end", () => resolve(data));
        socket.on("error", reject);
        socket.setTimeout(5000, () => reject(new Error("timed out")));
      });
      expect(reply).toBe("limawan-ok\n");
      expect(execFileSync("sudo", ["-n", "pfctl", "-sn"], { encoding: "utf8" })).toMatch(/rdr-anchor "limawan"/);
    });
  });
});

describe.skipIf(canSudo)("real macOS pfctl", () => {
  it(`is skipped here: ${REASON}`, () => {
    expect(canSudo).toBe(false);
  });
});
