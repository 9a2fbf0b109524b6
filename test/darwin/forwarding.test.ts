// LimaWAN's own rules in the real kernel, through the product's Pfctl adapter: one "VM" at
// 127.0.0.1 on lo0 (listeners there), clients on the session's lo0 aliases. Each scenario has
// its own client address: PF's source tracking (max, limit) counts per address across rules.
import type net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CompiledAnchor } from "../../compiler/emit-pf.js";
import { blockPf, datagram, enable, exchange, freePort, lo0Anchor, pf, pfctl, session, sleep, tcpListener, udpListener, type TcpPeer } from "./context.js";

const [WEB_CLIENT, ALLOWED, REFUSED, BANNED, CAPPED] = session.aliases as [string, string, string, string, string];
// `limit 3/4s`: PF's max-src-conn-rate 3/4 bans a source on its 4th connection within ~4 s.
const LIMIT = { count: 3, seconds: 4 };

let token = "";
let anchor: CompiledAnchor;
const tcp: Record<"web" | "allow" | "ban" | "cap" | "both", TcpPeer> = {} as never;
const host: Record<"web" | "allow" | "ban" | "cap" | "dns" | "both", number> = {} as never;
const udp: Record<"dns" | "both", Awaited<ReturnType<typeof udpListener>>> = {} as never;

beforeAll(async () => {
  for (const name of ["web", "allow", "ban", "cap", "both"] as const) tcp[name] = await tcpListener();
  for (const name of ["web", "allow", "ban", "cap", "dns", "both"] as const) host[name] = await freePort();
  const dnsPort = await freePort();
  udp.dns = await udpListener(dnsPort);
  udp.both = await udpListener(tcp.both.port);
  anchor = lo0Anchor([
    `expose web ${tcp.web.port} as ${host.web}`,
    `expose allow ${tcp.allow.port} as ${host.allow} from ${ALLOWED}`,
    `expose ban ${tcp.ban.port} as ${host.ban} limit ${LIMIT.count}/${LIMIT.seconds}s`,
    `expose cap ${tcp.cap.port} as ${host.cap} max 2`,
    `expose dns ${dnsPort}/udp as ${host.dns}`,
    `expose both ${tcp.both.port}/tcp+udp as ${host.both}`,
  ]);
  await pf.checkAnchor(anchor.text);
  await pf.loadAnchor(anchor.text);
  token = await enable();
});

afterAll(async () => {
  await pf.flushAnchor();
  await blockPf.flushAnchor();
  if (token) {
    // The reference this file took goes with -X, and PF says it is gone.
    await pf.release(token);
    expect(await pf.references()).not.toContain(token);
  }
  for (const peer of [...Object.values(tcp), ...Object.values(udp)]) await peer.close();
});

const names = (forward: string) => anchor.forwards.find((f) => f.forward === forward)!;

describe("LimaWAN's anchor in the real kernel", () => {
  it("is reached from the session's anchor points, and holds PF enabled by our reference", async () => {
    expect(await pf.loadedAnchorPoints()).toEqual({ rdr: true, filter: true });
    expect(await pf.references()).toContain(token);
    expect(await pf.enabled()).toBe(true);
  });

  it("forwards a connection, and the listener sees the client's address, not the host's", async () => {
    expect(await exchange(WEB_CLIENT, host.web)).toBe(WEB_CLIENT);
    expect(tcp.web.peers).toEqual([WEB_CLIENT]);
    const counters = (await pf.labels()).get(names("web").label);
    expect(counters?.packets).toBeGreaterThan(0);
    expect(counters?.states).toBeNull(); // macOS prints no states column (docs/PFCTL-OUTPUT.md §a)
  });

  it("with a non-quick block on the VM port beside it, only the tagged pass lets the forwarded connection through", async () => {
    expect(await exchange(WEB_CLIENT, tcp.web.port)).toBe(WEB_CLIENT); // straight to the VM port: open
    await blockPf.checkAnchor(`block return in on lo0 inet proto tcp from any to 127.0.0.1 port ${tcp.web.port}\n`);
    await blockPf.loadAnchor(`block return in on lo0 inet proto tcp from any to 127.0.0.1 port ${tcp.web.port}\n`);
    try {
      // Untagged, the same packets now meet the block: LimaWAN's pass matches tagged packets only.
      await expect(exchange(WEB_CLIENT, tcp.web.port, 2000)).rejects.toThrow();
      // Through the rdr, tagged: the quick pass decides before the block is reached.
      expect(await exchange(WEB_CLIENT, host.web)).toBe(WEB_CLIENT);
    } finally {
      await blockPf.flushAnchor();
    }
  });

  it("an allow-list admits the source it names and refuses another", async () => {
    expect(await exchange(ALLOWED, host.allow)).toBe(ALLOWED);
    await expect(exchange(REFUSED, host.allow, 2000)).rejects.toThrow();
    expect(tcp.allow.peers).toEqual([ALLOWED]);
  });

  it("limit bans a source after N connections; the ban survives a reload; -T delete lifts it; -T expire too", async () => {
    const ban = names("ban").banTable!;
    for (let i = 1; i <= LIMIT.count; i++) {
      expect(await exchange(BANNED, host.ban)).toBe(BANNED);
      expect(await pf.tableEntries(ban), `after connection ${i}`).toEqual([]);
    }
    // One more within the window: PF's overload puts the source in the ban table.
    await exchange(BANNED, host.ban, 2000).catch(() => undefined);
    expect(await pf.tableEntries(ban)).toEqual([BANNED]);
    await expect(exchange(BANNED, host.ban, 2000)).rejects.toThrow();

    await pf.loadAnchor(anchor.text); // `table <…> persist` without an initialiser keeps its entries
    expect(await pf.tableEntries(ban)).toEqual([BANNED]);
    await expect(exchange(BANNED, host.ban, 2000)).rejects.toThrow();

    // What the README tells users: sudo pfctl -a limawan -t TABLE -T delete ADDRESS.
    const deleted = await pfctl(["-a", session.anchor, "-t", ban, "-T", "delete", BANNED]);
    expect([deleted.exitCode, deleted.stderr]).toEqual([0, expect.stringMatching(/^1\/1 addresses deleted\.$/m)]);
    expect(await pf.tableEntries(ban)).toEqual([]);
    await sleep((LIMIT.seconds + 0.5) * 1000); // the source's connection rate decays to nothing
    expect(await exchange(BANNED, host.ban)).toBe(BANNED);

    // Banned again, then expired: entries older than 0 s go.
    for (let i = 0; i < 10 && (await pf.tableEntries(ban)).length === 0; i++) await exchange(BANNED, host.ban, 2000).catch(() => undefined);
    expect(await pf.tableEntries(ban)).toEqual([BANNED]);
    await sleep(1100);
    const expired = await pfctl(["-a", session.anchor, "-t", ban, "-T", "expire", "0"]);
    expect([expired.exitCode, expired.stderr]).toEqual([0, expect.stringMatching(/^1\/1 addresses expired\.$/m)]);
    expect(await pf.tableEntries(ban)).toEqual([]);
  });

  it("max caps a source's concurrent connections", async () => {
    const held: net.Socket[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const { answer, socket } = await exchange(CAPPED, host.cap, 3000, true);
        expect(answer).toBe(CAPPED);
        held.push(socket);
      }
      // `status` counts them from the rules' own counters (`-v -s rules`).
      expect((await pf.counters()).get(names("cap").label)?.states).toBeGreaterThanOrEqual(2);
      // The third completes no exchange: PF drops the packet that would establish it.
      await expect(exchange(CAPPED, host.cap, 2000)).rejects.toThrow();
    } finally {
      for (const socket of held) socket.destroy();
    }
  });

  it("a udp forward carries a datagram both ways, and the VM sees the client", async () => {
    expect(await datagram(WEB_CLIENT, host.dns)).toEqual({ answer: WEB_CLIENT, fromPort: host.dns });
    expect(udp.dns.peers).toEqual([WEB_CLIENT]);
  });

  it("a tcp+udp forward carries both", async () => {
    expect(await exchange(WEB_CLIENT, host.both)).toBe(WEB_CLIENT);
    expect(await datagram(WEB_CLIENT, host.both)).toEqual({ answer: WEB_CLIENT, fromPort: host.both });
  });
});
