// The order protocols are tried in and the refusal reported (plugin/router/mapping.ts).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nextProtocol, nonceFromHex, nonceToHex, protocolOrder, refusalOf, type Attempt } from "../../plugin/router/mapping.js";
import { resultCode } from "../../plugin/router/result-codes.js";
import { arbitraryNonce } from "../arbitraries.js";

const refused = (via: Attempt["via"], code: number): Attempt => ({ via, result: { kind: "refused", result: resultCode(via, code) } });

describe("the order of protocols", () => {
  it("is PCP, NAT-PMP, then UPnP only where allowed; a preferred one first", () => {
    expect(protocolOrder(false)).toEqual(["pcp", "nat-pmp"]);
    expect(protocolOrder(true)).toEqual(["pcp", "nat-pmp", "upnp"]);
    expect(protocolOrder(true, "upnp")).toEqual(["upnp", "pcp", "nat-pmp"]);
    expect(protocolOrder(false, "nat-pmp")).toEqual(["nat-pmp", "pcp"]);
    // A preference for what is not allowed does not let it in.
    expect(protocolOrder(false, "upnp")).toEqual(["pcp", "nat-pmp"]);
  });

  it("falls from PCP to NAT-PMP on silence, another version, UNSUPP_VERSION or a socket problem", () => {
    const order = protocolOrder(false);
    expect(nextProtocol(order, { via: "pcp", result: { kind: "no-answer" } })).toBe("nat-pmp");
    expect(nextProtocol(order, { via: "pcp", result: { kind: "other-version", version: 0 } })).toBe("nat-pmp");
    expect(nextProtocol(order, refused("pcp", 1))).toBe("nat-pmp");
    expect(nextProtocol(order, { via: "pcp", result: { kind: "unusable", detail: "x" } })).toBe("nat-pmp");
  });

  it("takes a PCP refusal as the box's answer for NAT-PMP too: only UPnP, where allowed, is asked next", () => {
    expect(nextProtocol(protocolOrder(false), refused("pcp", 2))).toBeNull();
    expect(nextProtocol(protocolOrder(true), refused("pcp", 8))).toBe("upnp");
  });

  it("stops at a grant, and after the last protocol", () => {
    fc.assert(
      fc.property(fc.boolean(), fc.constantFrom("pcp", "nat-pmp", "upnp"), (allowUpnp, via) => {
        expect(nextProtocol(protocolOrder(allowUpnp), { via, result: { kind: "granted" } })).toBeNull();
      }),
    );
    expect(nextProtocol(protocolOrder(false), { via: "nat-pmp", result: { kind: "no-answer" } })).toBeNull();
    expect(nextProtocol(protocolOrder(true), refused("nat-pmp", 2))).toBe("upnp");
    expect(nextProtocol(protocolOrder(true), { via: "upnp", result: { kind: "no-answer" } })).toBeNull();
  });
});

describe("the refusal reported", () => {
  it("is the router's own code when one came, the last one; else what was heard", () => {
    expect(refusalOf([{ via: "pcp", result: { kind: "no-answer" } }, refused("nat-pmp", 2), { via: "upnp", result: { kind: "no-answer" } }])).toEqual({ kind: "refused", via: "nat-pmp", result: resultCode("nat-pmp", 2) });
    expect(refusalOf([refused("pcp", 8), refused("upnp", 718)])).toMatchObject({ kind: "refused", via: "upnp", result: { name: "ConflictInMappingEntry" } });
    expect(refusalOf([{ via: "pcp", result: { kind: "no-answer" } }, { via: "upnp", result: { kind: "unusable", detail: "LOCATION elsewhere" } }])).toEqual({ kind: "unusable", via: "upnp", detail: "LOCATION elsewhere" });
    expect(refusalOf([{ via: "pcp", result: { kind: "other-version", version: 0 } }, { via: "nat-pmp", result: { kind: "no-answer" } }])).toEqual({ kind: "no-answer", tried: ["pcp", "nat-pmp"] });
  });
});

describe("a PCP nonce in the state file", () => {
  it("is 24 hex digits that read back as the same 12 bytes", () => {
    fc.assert(
      fc.property(arbitraryNonce, (nonce) => {
        const hex = nonceToHex(nonce);
        expect(hex).toMatch(/^[0-9a-f]{24}$/);
        expect(nonceFromHex(hex)).toEqual(nonce);
      }),
    );
  });

  it("is nothing when edited into something else", () => {
    for (const text of ["", "00", "0".repeat(23), "0".repeat(25), "g".repeat(24), "A".repeat(24), ` ${"0".repeat(23)}`]) expect(nonceFromHex(text)).toBeNull();
  });
});
