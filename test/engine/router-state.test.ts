import { describe, expect, it } from "vitest";
import type { Ipv4Address } from "../../compiler/ir.js";
import { emptyRouterState, type RouterState } from "../../plugin/engine/router-state.js";
import { emptyState, parseState, salvageState } from "../../plugin/engine/state.js";

const mapped: RouterState = {
  gateway: "192.168.1.1" as Ipv4Address,
  clientAddress: "192.168.1.20" as Ipv4Address,
  epochs: { pcp: { epoch: 3600, receivedAt: 1_800_000_000 }, natPmp: null },
  publicAddress: "203.0.113.7" as Ipv4Address,
  entries: [
    {
      instance: "web",
      forward: "ssh",
      protocol: "tcp",
      port: 2222,
      allowUpnp: false,
      mapping: { via: "pcp", protocol: "tcp", clientAddress: "192.168.1.20" as Ipv4Address, internalPort: 2222, externalPort: 2222, externalAddress: "203.0.113.7" as Ipv4Address, lifetime: 7200, epoch: 3600, receivedAt: 1_800_000_000, nonce: "00112233445566778899aabb", upnp: null },
      expiresAt: 1_800_007_200_000,
      dueAt: 1_800_003_600_000,
      problem: null,
      refusal: null,
    },
  ],
};

describe("the router record in the state file", () => {
  it("a state file written before router mappings existed reads as one without mappings", () => {
    const { router: _router, ...old } = emptyState();
    const read = parseState(JSON.stringify({ ...old, pfToken: "42" }));
    expect(read).toEqual({ ok: true, state: { ...emptyState(), pfToken: "42", router: emptyRouterState() } });
  });

  it("reads back the mappings written, nonce and all", () => {
    const state = { ...emptyState(), router: mapped };
    expect(parseState(JSON.stringify(state))).toEqual({ ok: true, state });
  });

  it("refuses a mapping that could not be deleted or renewed as recorded (no nonce, bad port, not an address)", () => {
    const edits: Array<(r: any) => void> = [
      (r) => (r.entries[0].mapping.nonce = null),
      (r) => (r.entries[0].mapping.nonce = "zz".repeat(12)),
      (r) => (r.entries[0].port = 70000),
      (r) => (r.entries[0].mapping.clientAddress = "192.168.1.20; reboot"),
      (r) => (r.gateway = "router.local"),
      (r) => (r.entries[0].protocol = "sctp"),
      (r) => (r.entries = {}),
      (r) => (r.epochs.pcp = { epoch: -1, receivedAt: 0 }),
      (r) => (r.entries[0].mapping = { ...r.entries[0].mapping, via: "upnp", upnp: null }),
    ];
    for (const edit of edits) {
      const router = JSON.parse(JSON.stringify(mapped));
      edit(router);
      expect(parseState(JSON.stringify({ ...emptyState(), router }))).toMatchObject({ ok: false, reason: /router/ });
    }
  });

  it("a damaged file still gives its router mappings, so down can delete them", () => {
    const text = JSON.stringify({ ...emptyState(), router: mapped, vms: { web: "broken" } });
    expect(parseState(text).ok).toBe(false);
    expect(salvageState(text).record.router).toEqual(mapped);
  });
});
