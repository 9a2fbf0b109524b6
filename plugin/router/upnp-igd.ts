// UPnP Internet Gateway Device control, the pure half: the device description → the WAN
// connection service to talk to, the SOAP requests LimaWAN sends, and the replies and faults
// it reads. The XML is read by fast-xml-parser (validated first, sizes bounded, no DOCTYPE),
// not by regexes: routers' descriptions vary in prefixes, whitespace, entity escapes and
// nesting, which pattern matching gets wrong and a parser does not.
//   Device description: UPnP Device Architecture 1.1 §2.3. Actions and arguments:
//   WANIPConnection:2 Service §2.5 (AddPortMapping, AddAnyPortMapping, DeletePortMapping,
//   GetExternalIPAddress), whose argument order some routers insist on. SOAP faults: UDA 1.1 §3.2.2.
import { XMLParser, XMLValidator } from "fast-xml-parser";
import type { Ipv4Address } from "../../compiler/ir.js";
import { parseIpv4Address } from "../../compiler/validate/addresses.js";
import { excerpt } from "../../compiler/printable.js";
import type { TransportProtocol } from "./packet.js";
import { gatewayUrl } from "./ssdp.js";

/** Real descriptions are 2–30 KB. */
export const MAX_DESCRIPTION = 128 * 1024;
/** A reply or fault is well under 2 KB. */
export const MAX_SOAP_REPLY = 16 * 1024;

/** In the order LimaWAN prefers them: IGD v2's service has AddAnyPortMapping. */
export const CONNECTION_SERVICES = [
  "urn:schemas-upnp-org:service:WANIPConnection:2",
  "urn:schemas-upnp-org:service:WANIPConnection:1",
  "urn:schemas-upnp-org:service:WANPPPConnection:1",
] as const;
export type ConnectionServiceType = (typeof CONNECTION_SERVICES)[number];

export interface ConnectionService {
  serviceType: ConnectionServiceType;
  /** Absolute, on the gateway's address (checked). */
  controlUrl: URL;
}

export type DescriptionReading = { ok: true; services: ConnectionService[] } | { ok: false; reason: string };

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  // Values stay text: ports and codes are checked here, not guessed by the parser.
  parseTagValue: false,
  isArray: (name) => name === "device" || name === "service",
  maxNestedTags: 40,
});

/**
 * `xml` fetched from `location` → the WAN connection services it lists, most preferred first,
 * each with its controlURL resolved (against URLBase if the description has one, §2.3 of UDA
 * 1.0, else the LOCATION) and on the gateway. Services pointing elsewhere are left out.
 */
export function readDeviceDescription(xml: string, location: URL, gateway: Ipv4Address): DescriptionReading {
  const document = parseXml(xml, MAX_DESCRIPTION);
  if (!document.ok) return document;
  const root = field(document.value, "root");
  if (!isRecord(root)) return { ok: false, reason: "no <root> element" };
  let base = location;
  const urlBase = text(field(root, "URLBase"));
  if (urlBase) {
    const checked = gatewayUrl(urlBase, gateway);
    if (!checked.ok) return { ok: false, reason: `URLBase: ${checked.reason}` };
    base = checked.url;
  }
  const found: ConnectionService[] = [];
  let refused: string | null = null;
  for (const service of servicesOf(field(root, "device"), 0)) {
    const serviceType = text(field(service, "serviceType"));
    const control = text(field(service, "controlURL"));
    if (!serviceType || !control || !(CONNECTION_SERVICES as readonly string[]).includes(serviceType)) continue;
    const url = gatewayUrl(control, gateway, base);
    if (url.ok) found.push({ serviceType: serviceType as ConnectionServiceType, controlUrl: url.url });
    else refused = `controlURL: ${url.reason}`;
  }
  if (found.length === 0) return { ok: false, reason: refused ?? "no WANIPConnection or WANPPPConnection service" };
  found.sort((a, b) => CONNECTION_SERVICES.indexOf(a.serviceType) - CONNECTION_SERVICES.indexOf(b.serviceType));
  return { ok: true, services: found };
}

/** Every <service> of a device and its embedded devices (IGD → WANDevice → WANConnectionDevice). */
function* servicesOf(devices: unknown, depth: number): Generator<Record<string, unknown>> {
  if (!Array.isArray(devices) || depth > 8) return;
  for (const device of devices) {
    if (!isRecord(device)) continue;
    const services = field(field(device, "serviceList"), "service");
    if (Array.isArray(services)) for (const service of services) if (isRecord(service)) yield service;
    yield* servicesOf(field(field(device, "deviceList"), "device"), depth + 1);
  }
}

// ---------------------------------------------------------------------------------------------
// SOAP requests

export interface MappingArguments {
  externalPort: number;
  protocol: TransportProtocol;
  internalPort: number;
  /** The Mac's own address: the only host LimaWAN ever maps to. */
  internalClient: Ipv4Address;
  /** Shown in the router's table; printable ASCII, cut to 64 characters. */
  description: string;
  /** Seconds; 0 is a permanent mapping (the only kind some routers grant, error 725). */
  leaseSeconds: number;
}

export type UpnpAction =
  | ({ action: "AddPortMapping" } & MappingArguments)
  | ({ action: "AddAnyPortMapping" } & MappingArguments)
  | { action: "DeletePortMapping"; externalPort: number; protocol: TransportProtocol }
  | { action: "GetExternalIPAddress" };

export interface SoapRequest {
  /** The SOAPACTION header's value, quotes included. */
  soapAction: string;
  body: string;
}

export function soapRequest(serviceType: ConnectionServiceType, request: UpnpAction): SoapRequest {
  const args = argumentsOf(request).map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`).join("");
  const body =
    '<?xml version="1.0"?>\r\n' +
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">' +
    `<s:Body><u:${request.action} xmlns:u="${serviceType}">${args}</u:${request.action}></s:Body></s:Envelope>\r\n`;
  return { soapAction: `"${serviceType}#${request.action}"`, body };
}

/** The arguments in the order WANIPConnection's service description lists them. */
function argumentsOf(request: UpnpAction): Array<[string, string]> {
  switch (request.action) {
    case "GetExternalIPAddress":
      return [];
    case "DeletePortMapping":
      return [
        ["NewRemoteHost", ""],
        ["NewExternalPort", port(request.externalPort)],
        ["NewProtocol", request.protocol.toUpperCase()],
      ];
    case "AddPortMapping":
    case "AddAnyPortMapping":
      if (!parseIpv4Address(request.internalClient)) throw new RangeError(`not an IPv4 address: ${request.internalClient}`);
      if (!Number.isInteger(request.leaseSeconds) || request.leaseSeconds < 0 || request.leaseSeconds > 0xffffffff) throw new RangeError(`lease ${request.leaseSeconds}`);
      return [
        ["NewRemoteHost", ""],
        ["NewExternalPort", port(request.externalPort)],
        ["NewProtocol", request.protocol.toUpperCase()],
        ["NewInternalPort", port(request.internalPort)],
        ["NewInternalClient", request.internalClient],
        ["NewEnabled", "1"],
        ["NewPortMappingDescription", request.description.replace(/[^\x20-\x7e]/g, "_").slice(0, 64)],
        ["NewLeaseDuration", String(request.leaseSeconds)],
      ];
  }
}

function port(value: number): string {
  if (!Number.isInteger(value) || value < 1 || value > 0xffff) throw new RangeError(`port ${value} is not 1-65535`);
  return String(value);
}

const ENTITIES: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" };

/** XML's five predefined entities: the escapes every router's parser knows (not all decode numeric references). */
export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

// ---------------------------------------------------------------------------------------------
// SOAP replies

interface Results {
  AddPortMapping: { externalPort: number };
  AddAnyPortMapping: { externalPort: number };
  DeletePortMapping: Record<string, never>;
  GetExternalIPAddress: { externalAddress: Ipv4Address };
}

export type SoapOutcome<T> =
  | { kind: "ok"; value: T }
  /** The router's UPnPError: its code (402, 606, 718, 725…) and its description, cut and escaped for display. */
  | { kind: "fault"; code: number; description: string }
  | { kind: "unreadable"; reason: string };

/** The HTTP status and body that answered `request` → what the router did, or its fault. */
export function readSoapReply<A extends UpnpAction>(request: A, status: number, body: string): SoapOutcome<Results[A["action"]]> {
  const document = parseXml(body, MAX_SOAP_REPLY);
  if (!document.ok) return { kind: "unreadable", reason: `HTTP ${status}: ${document.reason}` };
  const soapBody = field(field(document.value, "Envelope"), "Body");
  if (!isRecord(soapBody)) return { kind: "unreadable", reason: `HTTP ${status}: no SOAP Body` };
  const fault = field(soapBody, "Fault");
  if (fault !== undefined) {
    const error = field(field(fault, "detail"), "UPnPError");
    const code = text(field(error, "errorCode"));
    if (!code || !/^[0-9]{1,4}$/.test(code)) return { kind: "unreadable", reason: `HTTP ${status}: a SOAP fault without a UPnP error code` };
    return { kind: "fault", code: Number(code), description: excerpt(text(field(error, "errorDescription")) ?? "", 120) };
  }
  if (status !== 200) return { kind: "unreadable", reason: `HTTP ${status} without a SOAP fault` };
  const response = field(soapBody, `${request.action}Response`);
  if (response === undefined) return { kind: "unreadable", reason: `no ${request.action}Response` };
  switch (request.action) {
    case "GetExternalIPAddress": {
      const raw = text(field(response, "NewExternalIPAddress"));
      const address = raw === undefined ? null : parseIpv4Address(raw);
      // Some routers answer "" or 0.0.0.0 while their WAN is down: the latter is an address, classified by the caller.
      if (!address) return { kind: "unreadable", reason: `NewExternalIPAddress ${raw === undefined ? "missing" : `\`${excerpt(raw)}\``} is not an IPv4 address` };
      return ok<Results["GetExternalIPAddress"]>({ externalAddress: address });
    }
    case "AddAnyPortMapping": {
      const raw = text(field(response, "NewReservedPort"));
      const reserved = raw !== undefined && /^[0-9]{1,5}$/.test(raw) ? Number(raw) : 0;
      if (reserved < 1 || reserved > 0xffff) return { kind: "unreadable", reason: `NewReservedPort ${raw === undefined ? "missing" : `\`${excerpt(raw)}\``} is not a port` };
      return ok<Results["AddAnyPortMapping"]>({ externalPort: reserved });
    }
    case "AddPortMapping":
      // AddPortMapping grants the external port asked for, or fails (718).
      return ok<Results["AddPortMapping"]>({ externalPort: request.externalPort });
    case "DeletePortMapping":
      return ok<Results["DeletePortMapping"]>({});
  }
  return { kind: "unreadable", reason: "unknown action" };

  function ok<T>(value: T): SoapOutcome<Results[A["action"]]> {
    return { kind: "ok", value } as unknown as SoapOutcome<Results[A["action"]]>;
  }
}

// ---------------------------------------------------------------------------------------------

function parseXml(xml: string, max: number): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (xml.length > max) return { ok: false, reason: `${xml.length} characters; at most ${max}` };
  // A device description or SOAP reply has no document type; one declaring entities is an attack.
  if (xml.toUpperCase().includes("<!DOCTYPE")) return { ok: false, reason: "a document type declaration" };
  const valid = XMLValidator.validate(xml);
  if (valid !== true) return { ok: false, reason: `not well-formed XML (line ${valid.err.line}: ${excerpt(valid.err.msg, 80)})` };
  try {
    return { ok: true, value: parser.parse(xml) as unknown };
  } catch (error) {
    return { ok: false, reason: `unreadable XML (${excerpt(error instanceof Error ? error.message : String(error), 80)})` };
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function field(value: unknown, name: string): unknown {
  return isRecord(value) && Object.hasOwn(value, name) ? value[name] : undefined;
}

/** An element's text; an element written twice (an array) or with children is none. */
function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}
