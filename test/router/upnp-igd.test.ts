// UPnP IGD control's pure half (plugin/router/upnp-igd.ts): device descriptions → the WAN
// connection service, SOAP requests as WANIPConnection lays out their arguments, replies and
// faults read as hostile text.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { XMLParser } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import type { Ipv4Address } from "../../compiler/ir.js";
import { readDeviceDescription, readSoapReply, soapRequest, type UpnpAction } from "../../plugin/router/upnp-igd.js";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/router/${name}`, import.meta.url), "utf8");
const IGD1 = fixture("igd1-wanip.xml");
const IGD2 = fixture("igd2-urlbase-ppp.xml");
const services = (xml: string, location: string, gateway: string) => {
  const read = readDeviceDescription(xml, new URL(location), gateway as Ipv4Address);
  return read.ok ? read.services.map((s) => [s.serviceType, s.controlUrl.href]) : read.reason;
};

describe("the device description", () => {
  it("yields the WANIPConnection:1 of an IGD:1, its controlURL resolved against the LOCATION", () => {
    expect(services(IGD1, "http://192.168.1.1:5000/rootDesc.xml", "192.168.1.1")).toEqual([["urn:schemas-upnp-org:service:WANIPConnection:1", "http://192.168.1.1:5000/ctl/IPConn"]]);
  });

  it("prefers WANIPConnection:2 over WANPPPConnection:1, resolves against URLBase, reads prefixed elements and entities", () => {
    expect(services(IGD2, "http://192.168.178.1:49000/igd2desc.xml", "192.168.178.1")).toEqual([
      ["urn:schemas-upnp-org:service:WANIPConnection:2", "http://192.168.178.1:49000/igd2upnp/control/WANIPConn1?x=1&y=2"],
      ["urn:schemas-upnp-org:service:WANPPPConnection:1", "http://192.168.178.1:49000/igdupnp/control/WANPPPConn1"],
    ]);
  });

  it("leaves out a controlURL on another host, and refuses a URLBase elsewhere", () => {
    const elsewhere = IGD1.replace("<controlURL>/ctl/IPConn</controlURL>", "<controlURL>http://192.168.1.66/ctl/IPConn</controlURL>");
    expect(services(elsewhere, "http://192.168.1.1:5000/rootDesc.xml", "192.168.1.1")).toMatch(/^controlURL: not on the gateway's address/);
    const base = IGD2.replace("http://192.168.178.1:49000", "http://192.168.178.66:49000");
    expect(services(base, "http://192.168.178.1:49000/igd2desc.xml", "192.168.178.1")).toMatch(/^URLBase: not on the gateway's address/);
  });

  it("is refused without a connection service, with a DOCTYPE, malformed, cut short or over 128 KiB", () => {
    expect(services(IGD1.replaceAll("WANIPConnection", "WANIPv6FirewallControl"), "http://192.168.1.1/", "192.168.1.1")).toBe("no WANIPConnection or WANPPPConnection service");
    const bomb = `<?xml version="1.0"?><!DOCTYPE root [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]><root>&b;</root>`;
    expect(services(bomb, "http://192.168.1.1/", "192.168.1.1")).toBe("a document type declaration");
    expect(services("<root><device></root>", "http://192.168.1.1/", "192.168.1.1")).toMatch(/not well-formed XML/);
    expect(services(IGD1.slice(0, IGD1.length / 2), "http://192.168.1.1/", "192.168.1.1")).toMatch(/not well-formed XML/);
    expect(services(IGD1.replace("<friendlyName>", `<friendlyName>${"x".repeat(128 * 1024)}`), "http://192.168.1.1/", "192.168.1.1")).toMatch(/at most 131072/);
    expect(services("<html><body>login</body></html>", "http://192.168.1.1/", "192.168.1.1")).toBe("no <root> element");
  });

  it("never throws, on any cut or mangling of a real description", () => {
    fc.assert(
      fc.property(fc.constantFrom(IGD1, IGD2), fc.nat(), fc.nat(), fc.constantFrom("", "<", ">", "&", "</device>", "<device>", "<service>", "\u0000", "<![CDATA[", "]]>", "<!--"), (xml, cut, at, insert) => {
        const i = at % xml.length;
        const text = (xml.slice(0, i) + insert + xml.slice(i)).slice(0, xml.length - (cut % 50));
        expect(typeof readDeviceDescription(text, new URL("http://192.168.1.1/"), "192.168.1.1" as Ipv4Address).ok).toBe("boolean");
      }),
      { numRuns: 300 },
    );
  });
});

describe("SOAP requests", () => {
  const reader = new XMLParser({ parseTagValue: false, ignoreAttributes: false, preserveOrder: true, trimValues: false });
  type Node = Record<string, unknown> & { ":@"?: Record<string, string> };
  const child = (nodes: unknown, name: string) => (nodes as Node[]).find((n) => name in n)!;
  /** The action element (prefix `u`, its namespace) and its arguments in document order, as a router's SOAP stack reads them. */
  const argumentsOf = (body: string) => {
    const envelope = child(reader.parse(body), "s:Envelope");
    expect(envelope[":@"]).toEqual({ "@_xmlns:s": "http://schemas.xmlsoap.org/soap/envelope/", "@_s:encodingStyle": "http://schemas.xmlsoap.org/soap/encoding/" });
    const action = (child(envelope["s:Envelope"], "s:Body")["s:Body"] as Node[])[0]!;
    const name = Object.keys(action).find((k) => k !== ":@")!;
    const args = (action[name] as Node[]).map((arg) => {
      const key = Object.keys(arg).find((k) => k !== ":@")!;
      return [key, (arg[key] as Array<{ "#text": string }>)[0]?.["#text"] ?? ""];
    });
    return { name: name.replace(/^u:/, ""), namespace: action[":@"]?.["@_xmlns:u"], args };
  };
  const mapping = { externalPort: 2222, protocol: "tcp" as const, internalPort: 2222, internalClient: "192.168.1.23" as Ipv4Address, description: "LimaWAN web/ssh", leaseSeconds: 7200 };

  it("AddPortMapping: the SOAPAction header and the eight arguments in WANIPConnection's order", () => {
    const request = soapRequest("urn:schemas-upnp-org:service:WANIPConnection:1", { action: "AddPortMapping", ...mapping });
    expect(request.soapAction).toBe('"urn:schemas-upnp-org:service:WANIPConnection:1#AddPortMapping"');
    expect(argumentsOf(request.body)).toEqual({
      name: "AddPortMapping",
      namespace: "urn:schemas-upnp-org:service:WANIPConnection:1",
      args: [
        ["NewRemoteHost", ""],
        ["NewExternalPort", "2222"],
        ["NewProtocol", "TCP"],
        ["NewInternalPort", "2222"],
        ["NewInternalClient", "192.168.1.23"],
        ["NewEnabled", "1"],
        ["NewPortMappingDescription", "LimaWAN web/ssh"],
        ["NewLeaseDuration", "7200"],
      ],
    });
  });

  it("AddAnyPortMapping takes the same arguments; DeletePortMapping three; GetExternalIPAddress none", () => {
    const v2 = "urn:schemas-upnp-org:service:WANIPConnection:2";
    expect(argumentsOf(soapRequest(v2, { action: "AddAnyPortMapping", ...mapping, protocol: "udp", leaseSeconds: 0 }).body).args.map(([k, v]) => `${k}=${v}`)).toEqual([
      "NewRemoteHost=",
      "NewExternalPort=2222",
      "NewProtocol=UDP",
      "NewInternalPort=2222",
      "NewInternalClient=192.168.1.23",
      "NewEnabled=1",
      "NewPortMappingDescription=LimaWAN web/ssh",
      "NewLeaseDuration=0",
    ]);
    expect(argumentsOf(soapRequest(v2, { action: "DeletePortMapping", externalPort: 40000, protocol: "tcp" }).body).args).toEqual([
      ["NewRemoteHost", ""],
      ["NewExternalPort", "40000"],
      ["NewProtocol", "TCP"],
    ]);
    const external = soapRequest("urn:schemas-upnp-org:service:WANPPPConnection:1", { action: "GetExternalIPAddress" });
    expect(external.soapAction).toBe('"urn:schemas-upnp-org:service:WANPPPConnection:1#GetExternalIPAddress"');
    expect(argumentsOf(external.body)).toEqual({ name: "GetExternalIPAddress", namespace: "urn:schemas-upnp-org:service:WANPPPConnection:1", args: [] });
  });

  it("escapes any description, so it reads back as the printable ASCII it was cut to", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 100, unit: fc.oneof(fc.constantFrom("<", ">", "&", '"', "'", "]]>", "&amp;", "\u0000", "\n", "é"), fc.string({ maxLength: 1 })) }), (description) => {
        const body = soapRequest("urn:schemas-upnp-org:service:WANIPConnection:1", { action: "AddPortMapping", ...mapping, description }).body;
        const args = Object.fromEntries(argumentsOf(body).args);
        expect(args.NewPortMappingDescription).toBe(description.replace(/[^\x20-\x7e]/g, "_").slice(0, 64));
        expect(args.NewInternalClient).toBe("192.168.1.23");
      }),
    );
  });

  it("refuses values no argument can hold: a bug of the caller", () => {
    const v1 = "urn:schemas-upnp-org:service:WANIPConnection:1" as const;
    expect(() => soapRequest(v1, { action: "AddPortMapping", ...mapping, externalPort: 0 })).toThrow(RangeError);
    expect(() => soapRequest(v1, { action: "AddPortMapping", ...mapping, internalClient: "192.168.1.23><x" as Ipv4Address })).toThrow(RangeError);
    expect(() => soapRequest(v1, { action: "AddPortMapping", ...mapping, leaseSeconds: -1 })).toThrow(RangeError);
  });
});

describe("SOAP replies", () => {
  const envelope = (inner: string) => `<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>${inner}</s:Body></s:Envelope>\r\n`;
  const fault = (code: string, description: string) =>
    envelope(`<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>${code}</errorCode><errorDescription>${description}</errorDescription></UPnPError></detail></s:Fault>`);
  const external: UpnpAction = { action: "GetExternalIPAddress" };
  const add: UpnpAction = { action: "AddPortMapping", externalPort: 2222, protocol: "tcp", internalPort: 22, internalClient: "192.168.1.23" as Ipv4Address, description: "x", leaseSeconds: 7200 };
  const addAny: UpnpAction = { ...add, action: "AddAnyPortMapping" };

  it("reads the external address, the port AddAnyPortMapping reserved, and the empty answers", () => {
    expect(readSoapReply(external, 200, envelope('<u:GetExternalIPAddressResponse xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1"><NewExternalIPAddress>198.51.100.4</NewExternalIPAddress></u:GetExternalIPAddressResponse>'))).toEqual({ kind: "ok", value: { externalAddress: "198.51.100.4" } });
    expect(readSoapReply(addAny, 200, envelope('<u:AddAnyPortMappingResponse xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:2"><NewReservedPort>40022</NewReservedPort></u:AddAnyPortMappingResponse>'))).toEqual({ kind: "ok", value: { externalPort: 40022 } });
    expect(readSoapReply(add, 200, envelope('<u:AddPortMappingResponse xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1"/>'))).toEqual({ kind: "ok", value: { externalPort: 2222 } });
    expect(readSoapReply({ action: "DeletePortMapping", externalPort: 2222, protocol: "tcp" }, 200, envelope('<u:DeletePortMappingResponse xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1"></u:DeletePortMappingResponse>'))).toEqual({ kind: "ok", value: {} });
  });

  it("reads a fault's UPnP error code and description: 718, 725, 606, 402", () => {
    expect(readSoapReply(add, 500, fault("718", "ConflictInMappingEntry"))).toEqual({ kind: "fault", code: 718, description: "ConflictInMappingEntry" });
    expect(readSoapReply(add, 500, fault("725", "OnlyPermanentLeasesSupported"))).toMatchObject({ kind: "fault", code: 725 });
    expect(readSoapReply(external, 500, fault("606", "Action not authorized"))).toMatchObject({ kind: "fault", code: 606 });
    expect(readSoapReply(addAny, 500, fault("402", ""))).toEqual({ kind: "fault", code: 402, description: "" });
  });

  it("cuts and escapes a router's description before anyone shows it", () => {
    const read = readSoapReply(add, 500, fault("501", `\u001b]0;pwned\u0007${"x".repeat(300)}`));
    expect(read).toMatchObject({ kind: "fault", code: 501 });
    const description = read.kind === "fault" ? read.description : "";
    expect(description.startsWith("\\x1b]0;pwned\\x07xxx")).toBe(true);
    expect(description).not.toMatch(/[\u0000-\u001f]/);
    expect(description.length).toBeLessThan(140);
  });

  it("finds nothing readable in a wrong address, a missing port, a fault without a code, an HTTP error without a fault, or another action's answer", () => {
    expect(readSoapReply(external, 200, envelope("<u:GetExternalIPAddressResponse><NewExternalIPAddress>198.51.100.4; rm -rf /</NewExternalIPAddress></u:GetExternalIPAddressResponse>"))).toMatchObject({ kind: "unreadable", reason: /is not an IPv4 address/ });
    expect(readSoapReply(external, 200, envelope("<u:GetExternalIPAddressResponse><NewExternalIPAddress></NewExternalIPAddress></u:GetExternalIPAddressResponse>"))).toMatchObject({ kind: "unreadable" });
    expect(readSoapReply(addAny, 200, envelope("<u:AddAnyPortMappingResponse><NewReservedPort>70000</NewReservedPort></u:AddAnyPortMappingResponse>"))).toMatchObject({ kind: "unreadable", reason: /not a port/ });
    expect(readSoapReply(add, 500, fault("", "x"))).toMatchObject({ kind: "unreadable", reason: /without a UPnP error code/ });
    expect(readSoapReply(add, 500, "<html>Internal error</html>")).toMatchObject({ kind: "unreadable", reason: /no SOAP Body/ });
    expect(readSoapReply(add, 404, envelope(""))).toMatchObject({ kind: "unreadable", reason: /HTTP 404/ });
    expect(readSoapReply(add, 200, envelope("<u:DeletePortMappingResponse/>"))).toMatchObject({ kind: "unreadable", reason: /no AddPortMappingResponse/ });
    expect(readSoapReply(add, 200, `${envelope("")}${"x".repeat(16 * 1024)}`)).toMatchObject({ kind: "unreadable", reason: /at most 16384/ });
  });

  it("never throws, whatever the body", () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), fc.oneof(fc.string({ maxLength: 300 }), fc.string({ maxLength: 80 }).map((s) => envelope(s)), fc.string({ maxLength: 40 }).map((s) => fault(s, s))), (status, body) => {
        for (const request of [external, add, addAny]) expect(["ok", "fault", "unreadable"]).toContain(readSoapReply(request, status, body).kind);
      }),
      { numRuns: 300 },
    );
  });
});
