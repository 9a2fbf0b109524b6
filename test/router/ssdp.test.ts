// SSDP discovery's pure half (plugin/router/ssdp.ts): the search LimaWAN sends, answers read
// as hostile text, and URLs trusted only on the gateway's own address.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Ipv4Address } from "../../compiler/ir.js";
import { gatewayUrl, readSsdpAnswer, ssdpSearch } from "../../plugin/router/ssdp.js";

const GATEWAY = "192.168.1.1" as Ipv4Address;
const answer = (...headers: string[]) => ["HTTP/1.1 200 OK", ...headers, "", ""].join("\r\n");

describe("the search", () => {
  it("is an M-SEARCH for one IGD version, in HTTP-over-UDP's CRLF lines, ending with an empty line", () => {
    const text = ssdpSearch("urn:schemas-upnp-org:device:InternetGatewayDevice:1");
    expect(text.split("\r\n")).toEqual([
      "M-SEARCH * HTTP/1.1",
      "HOST: 239.255.255.250:1900",
      'MAN: "ssdp:discover"',
      "MX: 2",
      "ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1",
      "",
      "",
    ]);
    expect(ssdpSearch("urn:schemas-upnp-org:device:InternetGatewayDevice:2", 1)).toMatch(/\r\nMX: 1\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:2\r\n\r\n$/);
  });
});

describe("an answer", () => {
  it("gives the search target, LOCATION and SERVER of an IGD's answer", () => {
    const text = answer(
      "CACHE-CONTROL: max-age=120",
      "ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1",
      "USN: uuid:00000000-0000-0000-0000-000000000001::urn:schemas-upnp-org:device:InternetGatewayDevice:1",
      "EXT:",
      "SERVER: Linux/5.4 UPnP/1.1 MiniUPnPd/2.3.3",
      "LOCATION: http://192.168.1.1:5000/rootDesc.xml",
    );
    expect(readSsdpAnswer(text)).toEqual({
      ok: true,
      answer: { target: "urn:schemas-upnp-org:device:InternetGatewayDevice:1", location: "http://192.168.1.1:5000/rootDesc.xml", server: "Linux/5.4 UPnP/1.1 MiniUPnPd/2.3.3" },
    });
  });

  it("reads header names in any case, bare LF line ends and HTTP/1.0", () => {
    const text = "HTTP/1.0 200 OK\nst: urn:schemas-upnp-org:device:InternetGatewayDevice:2\nLocation:http://192.168.1.1/desc.xml\n\n";
    expect(readSsdpAnswer(text)).toMatchObject({ ok: true, answer: { location: "http://192.168.1.1/desc.xml", server: null } });
  });

  it("keeps the first LOCATION when one is repeated, and ignores what follows the headers", () => {
    const text = answer("ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1", "LOCATION: http://192.168.1.1/a.xml", "LOCATION: http://192.168.1.66/b.xml") + "LOCATION: http://192.168.1.77/c.xml\r\n";
    expect(readSsdpAnswer(text)).toMatchObject({ ok: true, answer: { location: "http://192.168.1.1/a.xml" } });
  });

  it("is none without 200, without LOCATION, for another device type, or longer than 4 KiB", () => {
    const igd = "ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1";
    expect(readSsdpAnswer("NOTIFY * HTTP/1.1\r\nNT: upnp:rootdevice\r\nLOCATION: http://192.168.1.1/\r\n\r\n")).toMatchObject({ ok: false, reason: /HTTP 200/ });
    expect(readSsdpAnswer("HTTP/1.1 404 Not Found\r\n\r\n")).toMatchObject({ ok: false });
    expect(readSsdpAnswer(answer(igd))).toEqual({ ok: false, reason: "no LOCATION" });
    expect(readSsdpAnswer(answer("ST: urn:schemas-upnp-org:device:MediaRenderer:1", "LOCATION: http://192.168.1.1/"))).toMatchObject({ ok: false, reason: /Internet Gateway Device/ });
    expect(readSsdpAnswer(answer(igd, "LOCATION: http://192.168.1.1/", `X-PAD: ${"x".repeat(4096)}`))).toMatchObject({ ok: false, reason: /at most 4096/ });
  });

  it("never throws, whatever the text", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 600 }), fc.array(fc.constantFrom("HTTP/1.1 200 OK", "ST:", "LOCATION:", ":", "\r\n", "\n", " ", "urn:schemas-upnp-org:device:InternetGatewayDevice:1", "http://"), { maxLength: 40 }).map((p) => p.join(""))), (text) => {
        expect(typeof readSsdpAnswer(text).ok).toBe("boolean");
      }),
      { numRuns: 500 },
    );
  });
});

describe("a URL from the device", () => {
  const check = (text: string, base?: string) => {
    const result = gatewayUrl(text, GATEWAY, base ? new URL(base) : undefined);
    return result.ok ? result.url.href : result.reason;
  };

  it("is taken when it is plain HTTP to the gateway's address, on any port, relative ones resolved", () => {
    expect(check("http://192.168.1.1:5000/rootDesc.xml")).toBe("http://192.168.1.1:5000/rootDesc.xml");
    expect(check("/ctl/IPConn", "http://192.168.1.1:5000/rootDesc.xml")).toBe("http://192.168.1.1:5000/ctl/IPConn");
    expect(check("ctl/IPConn", "http://192.168.1.1:5000/desc/root.xml")).toBe("http://192.168.1.1:5000/desc/ctl/IPConn");
    // The same address written another way is the same address.
    expect(check("http://0300.0250.1.1/x")).toBe("http://192.168.1.1/x");
  });

  it("is refused on another host, by name, over another scheme, with credentials, or unparsable", () => {
    expect(check("http://192.168.1.66:5000/rootDesc.xml")).toMatch(/not on the gateway's address 192\.168\.1\.1/);
    expect(check("http://router.lan/rootDesc.xml")).toMatch(/not on the gateway's address/);
    expect(check("https://192.168.1.1/rootDesc.xml")).toMatch(/https: is not http:/);
    expect(check("file:///etc/passwd")).toMatch(/file: is not http:/);
    expect(check("http://user:pw@192.168.1.1/")).toMatch(/credentials/);
    expect(check("http://[::1]/")).toMatch(/not on the gateway's address/);
    expect(check("//192.168.1.66/ctl", "http://192.168.1.1/desc.xml")).toMatch(/not on the gateway's address/);
    expect(check("http://192.168.1.66/ctl", "http://192.168.1.1/desc.xml")).toMatch(/not on the gateway's address/);
    expect(check("not a url")).toBe("not a URL");
    expect(check(`http://192.168.1.1/${"a".repeat(1100)}`)).toMatch(/longer than 1024/);
  });

  it("is never taken off the gateway, whatever the text", () => {
    fc.assert(
      fc.property(fc.oneof(fc.webUrl(), fc.string({ maxLength: 80 })), fc.option(fc.constant("http://192.168.1.1:5000/d.xml"), { nil: undefined }), (text, base) => {
        const result = gatewayUrl(text, GATEWAY, base ? new URL(base) : undefined);
        if (result.ok) expect([result.url.hostname, result.url.protocol]).toEqual(["192.168.1.1", "http:"]);
      }),
      { numRuns: 500 },
    );
  });
});
