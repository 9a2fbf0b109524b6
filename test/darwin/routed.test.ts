// Routed traffic on the real kernel (issue 12): what arrives on a WAN interface for a forwarded
// VM's address and was not redirected by one of its forwards is dropped — it would reach every
// port, around allow-lists, limits and bans — unless the VM says `allow routed`. lo0 is the WAN
// here, the "VM" an lo0 alias of its own (so the drop touches nothing else on the Mac), the
// client another alias: a connection straight to the VM's address is what a LAN host with a
// route via the Mac would make.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enable, exchange, freePort, lo0Anchor, pf, session, tcpListener, type TcpPeer } from "./context.js";

const CLIENT = session.aliases[0]!;
const VM = session.aliases[6]!;

let token = "";
let exposed: TcpPeer;
let unexposed: TcpPeer;
let hostPort = 0;
const anchor = (extra: string[] = []) => lo0Anchor([...extra, `expose web ${exposed.port} as ${hostPort}`], VM);

beforeAll(async () => {
  exposed = await tcpListener(0, VM);
  unexposed = await tcpListener(0, VM);
  hostPort = await freePort();
  token = await enable();
});

afterAll(async () => {
  await pf.flushAnchor();
  if (token) await pf.release(token);
  await exposed.close();
  await unexposed.close();
});

describe("traffic routed to a forwarded VM's address", () => {
  it("reaches the VM straight before LimaWAN's rules are loaded (the test's own premise)", async () => {
    expect(await exchange(CLIENT, { host: VM, port: unexposed.port })).toBe(CLIENT);
  });

  it("is dropped by default: only the forward's redirect gets through, and the client's address is kept", async () => {
    const rules = anchor();
    expect(rules.text).toMatch(new RegExp(`^block drop in quick on lo0 inet from any to ${VM.replace(/\./g, "\\.")}$`, "m"));
    await pf.checkAnchor(rules.text);
    await pf.loadAnchor(rules.text);
    expect(await exchange(CLIENT, hostPort)).toBe(CLIENT);
    await expect(exchange(CLIENT, { host: VM, port: unexposed.port }, 1500)).rejects.toThrow(/no answer/);
    // Even the forward's own port, reached straight, bypasses its rdr (and so its allow-list, limits and bans).
    await expect(exchange(CLIENT, { host: VM, port: exposed.port }, 1500)).rejects.toThrow(/no answer/);
  });

  it("passes with `allow routed`, and the forward still works", async () => {
    const rules = anchor(["allow routed"]);
    expect(rules.text).not.toMatch(/^block drop in quick on lo0 inet from any to /m);
    await pf.loadAnchor(rules.text);
    expect(await exchange(CLIENT, hostPort)).toBe(CLIENT);
    expect(await exchange(CLIENT, { host: VM, port: unexposed.port })).toBe(CLIENT);
  });
});
