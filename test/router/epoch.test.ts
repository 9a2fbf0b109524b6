// Telling a gateway restart from its epoch (plugin/router/epoch.ts; RFC 6887 §8.5, RFC 6886 §3.6).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { gatewayRestarted } from "../../plugin/router/epoch.js";

const protocols = ["pcp", "nat-pmp"] as const;

describe("a gateway restart, seen in its epoch", () => {
  it("is not seen while the gateway's clock keeps pace with the Mac's, drifting up to 1/32", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...protocols),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.double({ min: -1 / 32, max: 1 / 32, noNaN: true }),
        (protocol, epoch, receivedAt, elapsed, drift) => {
          const later = { epoch: epoch + Math.floor(elapsed * (1 + drift)), receivedAt: receivedAt + elapsed };
          expect(gatewayRestarted(protocol, { epoch, receivedAt }, later)).toBe(false);
        },
      ),
    );
  });

  it("is seen when the epoch goes back by more than a second, however little time passed", () => {
    fc.assert(
      fc.property(fc.constantFrom(...protocols), fc.integer({ min: 2, max: 2 ** 31 }), fc.integer({ min: 2, max: 2 ** 31 }), fc.integer({ min: 0, max: 1_000_000 }), (protocol, epoch, back, elapsed) => {
        fc.pre(back <= epoch);
        expect(gatewayRestarted(protocol, { epoch, receivedAt: 0 }, { epoch: epoch - back, receivedAt: elapsed })).toBe(true);
      }),
    );
  });

  it("is seen when a gateway up for two hours answers, an hour later, that its state is 30 seconds old", () => {
    for (const protocol of protocols) expect(gatewayRestarted(protocol, { epoch: 7200, receivedAt: 50 }, { epoch: 30, receivedAt: 3650 })).toBe(true);
  });

  it("is seen when the epoch advanced much less than the Mac's clock (a restart, then uptime)", () => {
    for (const protocol of protocols) expect(gatewayRestarted(protocol, { epoch: 100, receivedAt: 0 }, { epoch: 150, receivedAt: 3600 })).toBe(true);
  });

  it("under PCP only, is seen when the epoch ran ahead of the Mac's clock by more than drift allows (§8.5)", () => {
    expect(gatewayRestarted("pcp", { epoch: 100, receivedAt: 0 }, { epoch: 10_000, receivedAt: 60 })).toBe(true);
    expect(gatewayRestarted("nat-pmp", { epoch: 100, receivedAt: 0 }, { epoch: 10_000, receivedAt: 60 })).toBe(false);
  });

  it("forgives a second back, and two seconds of rounding", () => {
    for (const protocol of protocols) {
      expect(gatewayRestarted(protocol, { epoch: 100, receivedAt: 0 }, { epoch: 99, receivedAt: 0 })).toBe(false);
      expect(gatewayRestarted(protocol, { epoch: 100, receivedAt: 0 }, { epoch: 100, receivedAt: 2 })).toBe(false);
    }
  });
});
