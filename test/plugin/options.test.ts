// Command-line values get the same rules as the annotation and as `up`: a usage error (exit 2)
// that names the option and why.
import { describe, expect, it } from "vitest";
import { CliError, EXIT } from "../../plugin/errors.js";
import { parseInterfaceOption, parseVmIp, parseVmName } from "../../plugin/options.js";

function usageError(f: () => unknown): CliError {
  try {
    f();
  } catch (error) {
    if (error instanceof CliError && error.exitCode === EXIT.USAGE) return error;
    throw error;
  }
  throw new Error("expected a usage error");
}

describe("--vm-ip", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["0.0.0.0", "unspecified"],
    ["255.255.255.255", "broadcast"],
    ["224.0.0.1", "multicast"],
    ["169.254.1.1", "linkLocal"],
  ])("refuses %s, which PF must never redirect to (%s)", (address, range) => {
    expect(usageError(() => parseVmIp(address)).message).toBe(`--vm-ip ${address}: ${address} is a ${range} address, never a VM's`);
  });

  it("takes a vmnet address, and refuses what is not IPv4", () => {
    expect(parseVmIp("192.168.105.2")).toBe("192.168.105.2");
    expect(usageError(() => parseVmIp("192.168.105")).message).toMatch(/is not an IPv4 address/);
  });
});

describe("--interface", () => {
  it("refuses nothing at all, a pfctl keyword and the loopback", () => {
    expect(usageError(() => parseInterfaceOption("")).message).toMatch(/name at least one interface/);
    expect(usageError(() => parseInterfaceOption(" , ")).message).toMatch(/name at least one interface/);
    expect(usageError(() => parseInterfaceOption("inet6")).message).toMatch(/`inet6` is a pfctl keyword/);
    expect(usageError(() => parseInterfaceOption("lo0")).message).toMatch(/loopback/);
    expect(parseInterfaceOption("en0, en1,en0")).toEqual(["en0", "en1"]);
  });
});

describe("--name", () => {
  it("takes a Lima instance name and refuses what the compiler would", () => {
    expect(parseVmName("web-2.test")).toBe("web-2.test");
    expect(parseVmName(undefined)).toBeUndefined();
    for (const bad of ["", "bad name", "-web", "a".repeat(49)]) expect(usageError(() => parseVmName(bad)).message).toMatch(/not a Lima instance name/);
  });
});
