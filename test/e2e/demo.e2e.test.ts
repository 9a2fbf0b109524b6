// The README's demo, end to end, from samples/web.yaml: create and start the VM, forward it,
// diagnose it, harden it. The stand-in guest installs what the sample's provision installs
// (nginx, fail2ban), so what diagnose finds listening is what the sample set up.
import { fileURLToPath } from "node:url";
import { afterEach, expect, it, vi } from "vitest";
import { createSandbox, type Sandbox } from "./harness.js";

vi.setConfig({ testTimeout: 90_000 });

const SAMPLE = fileURLToPath(new URL("../../samples/web.yaml", import.meta.url));

let sb: Sandbox;
afterEach(async () => {
  await sb?.cleanup();
});

it("samples/web.yaml: created, started, forwarded, diagnosed healthy, hardened, and healthy still", async () => {
  sb = await createSandbox();
  const created = await sb.limactl(["create", SAMPLE]);
  expect(created.exitCode, String(created.stderr)).toBe(0);
  await sb.startVm("web");
  const up = await sb.run(["up", "web"]);
  expect(up.exitCode, up.stderr).toBe(0);
  expect(up.stderr).toMatch(/ssh 2222 -> 192\.168\.105\.2:22\/tcp\n\s+http 8080 -> 192\.168\.105\.2:80\/tcp/);

  const diagnosed = await sb.run(["diagnose", "web"]);
  expect(diagnosed.exitCode, diagnosed.stdout).toBe(0);
  expect(diagnosed.stdout).toContain("PASS     guest service: tcp 0.0.0.0:80");
  expect(diagnosed.stdout.split("\n").at(-1)).toBe("web: no step failed");

  const hardened = await sb.run(["harden", "web"]);
  expect(hardened.exitCode, hardened.stderr).toBe(0);
  expect(sb.guestServices("web").ssh!.config).toMatchObject({ passwordauthentication: "no", permitrootlogin: "no" });
  expect(sb.guestServices("web").fail2ban!.jails!.map((j) => `${j.name} ${j.port} ${j.backend}`)).toEqual(["sshd 22 systemd"]);

  const after = await sb.run(["diagnose", "web", "--json"]);
  expect(after.exitCode).toBe(0);
  expect(JSON.parse(after.stdout)).toMatchObject({ ok: true, complete: true });
});
