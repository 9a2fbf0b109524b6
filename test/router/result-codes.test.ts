// The routers' codes as data (plugin/router/result-codes.ts): the numbers the specifications
// give them, the names reports quote, and a meaning for each.
import { describe, expect, it } from "vitest";
import { describeResult, NAT_PMP_RESULT, PCP_RESULT, resultCode, UPNP_ERROR } from "../../plugin/router/result-codes.js";

describe("result codes", () => {
  it("names PCP's codes 0–13 as RFC 6887 §7.4 does", () => {
    const names = Array.from({ length: 14 }, (_, code) => resultCode("pcp", code).name);
    expect(names).toEqual([
      "SUCCESS",
      "UNSUPP_VERSION",
      "NOT_AUTHORIZED",
      "MALFORMED_REQUEST",
      "UNSUPP_OPCODE",
      "UNSUPP_OPTION",
      "MALFORMED_OPTION",
      "NETWORK_FAILURE",
      "NO_RESOURCES",
      "UNSUPP_PROTOCOL",
      "USER_EX_QUOTA",
      "CANNOT_PROVIDE_EXTERNAL",
      "ADDRESS_MISMATCH",
      "EXCESSIVE_REMOTE_PEERS",
    ]);
    for (const [name, code] of Object.entries(PCP_RESULT)) expect(resultCode("pcp", code).name).toBe(name);
  });

  it("names NAT-PMP's codes 0–5 as RFC 6886 §3.5 does", () => {
    expect(Array.from({ length: 6 }, (_, code) => resultCode("nat-pmp", code).name)).toEqual(["Success", "Unsupported Version", "Not Authorized/Refused", "Network Failure", "Out of resources", "Unsupported opcode"]);
    expect(NAT_PMP_RESULT.OUT_OF_RESOURCES).toBe(4);
  });

  it("names the UPnP errors a port mapping meets, as WANIPConnection does", () => {
    expect(resultCode("upnp", UPNP_ERROR.INVALID_ARGS).name).toBe("Invalid Args");
    expect(resultCode("upnp", UPNP_ERROR.NOT_AUTHORIZED).name).toBe("Action not authorized");
    expect(resultCode("upnp", UPNP_ERROR.CONFLICT).name).toBe("ConflictInMappingEntry");
    expect(resultCode("upnp", UPNP_ERROR.ONLY_PERMANENT_LEASES).name).toBe("OnlyPermanentLeasesSupported");
    expect(resultCode("upnp", 714).name).toBe("NoSuchEntryInArray");
  });

  it("gives every known code a meaning, and names an unknown one by its number", () => {
    for (const protocol of ["pcp", "nat-pmp", "upnp"] as const) {
      for (let code = 0; code < 800; code++) {
        const result = resultCode(protocol, code);
        expect(result.meaning.length).toBeGreaterThan(10);
        expect(result.code).toBe(code);
      }
    }
    expect(resultCode("pcp", 200)).toEqual({ protocol: "pcp", code: 200, name: "code 200", meaning: "a code LimaWAN does not know" });
    // Own keys only: a code is a number, never a property of Object.prototype.
    expect(resultCode("upnp", "constructor" as unknown as number).name).toBe("code constructor");
  });

  it("describes a code with the router's number and the protocol", () => {
    expect(describeResult(resultCode("pcp", 2))).toMatch(/^NOT_AUTHORIZED \(PCP 2\): the router's policy/);
    expect(describeResult(resultCode("nat-pmp", 4))).toMatch(/^Out of resources \(NAT-PMP 4\): /);
    expect(describeResult(resultCode("upnp", 718))).toMatch(/^ConflictInMappingEntry \(UPnP 718\): /);
  });
});
