// A stand-in for the user's router: PCP (RFC 6887) and NAT-PMP (RFC 6886) on one UDP port, as
// miniupnpd and Apple's base stations serve them, and UPnP IGD (SSDP on a UDP port, the device
// description and SOAP control over HTTP), all on 127.0.0.1 at ports it picks. Stateful like
// the other stand-ins: mappings with lifetimes and an epoch, so tests assert what the router
// ends up holding. Its behaviours switch at any time (`gateway.behaviour.pcp = false`).
//
// It speaks PCP and NAT-PMP through the product's own codecs' server halves (whose byte layout
// the codec tests hold to the RFCs); the UPnP side is written here, independently of the
// client's, and read with fast-xml-parser.
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { XMLParser } from "fast-xml-parser";
import type { Ipv4Address } from "../../../compiler/ir.js";
import { decodeNatPmpRequest, encodeNatPmpResponse, type NatPmpResponse } from "../../../plugin/router/nat-pmp-codec.js";
import type { TransportProtocol } from "../../../plugin/router/packet.js";
import { decodePcpMapRequest, decodePcpRequestHeader, encodePcpResponse, PCP_OPCODE_ANNOUNCE, PCP_OPCODE_MAP, type PcpMapRequest } from "../../../plugin/router/pcp-codec.js";

export const GATEWAY_ADDRESS = "127.0.0.1" as Ipv4Address;

export interface GatewayBehaviour {
  /** Answers PCP. Without it, a PCP request gets NAT-PMP's "unsupported version" if NAT-PMP is on (miniupnpd), else nothing. */
  pcp: boolean;
  /** Answers NAT-PMP. Without it, a version-0 request gets PCP's UNSUPP_VERSION if PCP is on (RFC 6887 §9), else nothing. */
  natPmp: boolean;
  /** Serves UPnP IGD of this version (SSDP, description, SOAP), or nothing. */
  upnp: 1 | 2 | null;
  /** Refuse every map request of a protocol with this code (PCP 2, 8, 9…; NAT-PMP 2–5; UPnP 606, 718, 728…). */
  refuse: { pcp?: number; natPmp?: number; upnp?: number };
  /** Grant this external port instead of the one asked (for each protocol's new mappings). */
  grantPort: ((asked: number, protocol: TransportProtocol) => number) | null;
  /** The longest lifetime granted, in seconds (a router that keeps leases short). */
  maxLifetime: number;
  /** UPnP: refuse any lease but 0 with 725 OnlyPermanentLeasesSupported. */
  permanentOnly: boolean;
  /** The router's external address: public, or RFC 1918 / 100.64/10 space (behind another NAT). */
  externalAddress: Ipv4Address;
  /** SSDP answers name this LOCATION instead of the gateway's own (a hostile device). */
  location: string | null;
  /** The description lists this controlURL instead of its own (another host's). */
  controlUrl: string | null;
}

export const DEFAULT_BEHAVIOUR: Readonly<GatewayBehaviour> = {
  pcp: true,
  natPmp: true,
  upnp: 2,
  refuse: {},
  grantPort: null,
  maxLifetime: 86_400,
  permanentOnly: false,
  externalAddress: "203.0.113.7" as Ipv4Address,
  location: null,
  controlUrl: null,
};

export interface GatewayMapping {
  via: "pcp" | "nat-pmp" | "upnp";
  protocol: TransportProtocol;
  externalPort: number;
  internalClient: string;
  internalPort: number;
  /** Seconds granted; 0 = permanent (UPnP). */
  lifetime: number;
  /** ms on the gateway's clock; null = permanent. */
  expiresAt: number | null;
  /** PCP's mapping nonce, hex. */
  nonce: string | null;
  description: string | null;
}

export interface GatewayRequest {
  protocol: "pcp" | "nat-pmp" | "ssdp" | "http";
  /** What was asked: `MAP lifetime=7200`, `ANNOUNCE`, `map tcp lifetime=0`, `M-SEARCH …IGD:2`, `POST AddPortMapping`… */
  what: string;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const DESCRIPTION_PATH = "/rootDesc.xml";
const CONTROL_PATH = "/ctl/IPConn";

export interface GatewayPlace {
  /** Where it listens: 127.0.0.1 by default; the e2e tests give each sandbox a 127.x.y.z of its own, the one the route stand-in reports. */
  address?: Ipv4Address;
  /** Fixed ports (the real ones, 5351 and 1900, for the product that asks there); 0 or absent: any free port. */
  portMapping?: number;
  ssdp?: number;
}

export class StandinGateway {
  behaviour: GatewayBehaviour;
  /** Everything asked of it, in order. */
  readonly requests: GatewayRequest[] = [];
  private table = new Map<string, GatewayMapping>();
  private epochStartedAt: number;

  private constructor(
    readonly address: Ipv4Address,
    behaviour: Partial<GatewayBehaviour>,
    private readonly udp: Socket,
    private readonly ssdp: Socket,
    private readonly http: Server,
    private readonly clock: () => number,
    uptimeSeconds: number,
  ) {
    this.behaviour = { ...DEFAULT_BEHAVIOUR, ...behaviour };
    this.epochStartedAt = clock() - uptimeSeconds * 1000;
    udp.on("message", (message, from) => this.onPortMapping(message, from));
    ssdp.on("message", (message, from) => this.onSsdp(message, from));
    http.on("request", (request, response) => void this.onHttp(request, response));
  }

  /** Starts on 127.0.0.1 (or `place`), each service on a port of its own; `uptimeSeconds` sets where the epoch starts. */
  static async start(behaviour: Partial<GatewayBehaviour> = {}, options: { clock?: () => number; uptimeSeconds?: number; place?: GatewayPlace } = {}): Promise<StandinGateway> {
    const address = options.place?.address ?? GATEWAY_ADDRESS;
    const udp = createSocket("udp4");
    const ssdp = createSocket("udp4");
    const http = createServer();
    const bound = (socket: ReturnType<typeof createSocket>, port: number) =>
      new Promise<void>((resolve, reject) => {
        socket.once("error", reject);
        socket.bind(port, address, () => {
          socket.off("error", reject);
          resolve();
        });
      });
    await Promise.all([
      bound(udp, options.place?.portMapping ?? 0),
      bound(ssdp, options.place?.ssdp ?? 0),
      new Promise<void>((resolve) => http.listen(0, address, resolve)),
    ]);
    return new StandinGateway(address, behaviour, udp, ssdp, http, options.clock ?? Date.now, options.uptimeSeconds ?? 3600);
  }

  /** PCP and NAT-PMP share one port, as on a real gateway (5351); SSDP's stands for 1900. */
  get ports(): { portMapping: number; ssdp: number; http: number } {
    return { portMapping: this.udp.address().port, ssdp: this.ssdp.address().port, http: (this.http.address() as AddressInfo).port };
  }

  /** Seconds since the mapping table began: PCP's epoch and NAT-PMP's seconds since start of epoch. */
  epoch(): number {
    return Math.floor((this.clock() - this.epochStartedAt) / 1000);
  }

  /** The mappings it holds now (expired ones gone). */
  mappings(): GatewayMapping[] {
    this.expire();
    return [...this.table.values()].sort((a, b) => a.externalPort - b.externalPort || a.protocol.localeCompare(b.protocol));
  }

  /** A power cut: every mapping lost, the epoch back to 0. */
  restart(): void {
    this.table.clear();
    this.epochStartedAt = this.clock();
  }

  async close(): Promise<void> {
    this.http.closeAllConnections();
    await Promise.all([new Promise<void>((resolve) => this.udp.close(() => resolve())), new Promise<void>((resolve) => this.ssdp.close(() => resolve())), new Promise<void>((resolve) => this.http.close(() => resolve()))]);
  }

  // -------------------------------------------------------------------------------------------
  // The mapping table, shared by the three protocols as a router's NAT is.

  private expire(): void {
    const now = this.clock();
    for (const [key, mapping] of this.table) if (mapping.expiresAt !== null && mapping.expiresAt <= now) this.table.delete(key);
  }

  private key(protocol: TransportProtocol, externalPort: number): string {
    return `${protocol}/${externalPort}`;
  }

  private ownedBy(client: string, protocol: TransportProtocol, internalPort: number): GatewayMapping | undefined {
    this.expire();
    return [...this.table.values()].find((m) => m.internalClient === client && m.protocol === protocol && m.internalPort === internalPort);
  }

  /** A free external port: the one asked (or the behaviour's), else the next free one above it, as miniupnpd does. */
  private freePort(protocol: TransportProtocol, asked: number, internalPort: number): number {
    let port = this.behaviour.grantPort ? this.behaviour.grantPort(asked || internalPort, protocol) : asked || internalPort;
    while (this.table.has(this.key(protocol, port))) port = port >= 65_535 ? 1024 : port + 1;
    return port;
  }

  private put(mapping: Omit<GatewayMapping, "expiresAt">): GatewayMapping {
    const stored = { ...mapping, expiresAt: mapping.lifetime === 0 ? null : this.clock() + mapping.lifetime * 1000 };
    this.table.set(this.key(mapping.protocol, mapping.externalPort), stored);
    return stored;
  }

  private grantedLifetime(asked: number): number {
    return Math.min(asked, this.behaviour.maxLifetime);
  }

  // -------------------------------------------------------------------------------------------
  // PCP and NAT-PMP (one UDP port; the first byte says which)

  private onPortMapping(message: Buffer, from: RemoteInfo): void {
    const bytes = new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
    const reply = (answer: Uint8Array) => this.udp.send(answer, from.port, from.address);
    if (bytes[0] === 0) {
      this.requests.push({ protocol: "nat-pmp", what: natPmpWhat(bytes) });
      if (this.behaviour.natPmp) this.natPmp(bytes, from, reply);
      // A PCP-only server answers NAT-PMP's version 0 with its own version (RFC 6887 §9).
      else if (this.behaviour.pcp && bytes.length >= 2 && bytes[1]! < 128) reply(encodePcpResponse({ opcode: bytes[1]! & 0x7f, resultCode: 1, lifetime: 0, epoch: this.epoch(), map: null }));
      return;
    }
    this.requests.push({ protocol: "pcp", what: pcpWhat(bytes) });
    if (this.behaviour.pcp) this.pcp(bytes, from, reply);
    // A NAT-PMP-only gateway answers any other version with its 8-byte "unsupported version" (RFC 6886 §3.5).
    else if (this.behaviour.natPmp && bytes.length >= 2 && bytes[1]! < 128) reply(encodeNatPmpResponse({ kind: "error", opcode: bytes[1]!, resultCode: 1, epoch: this.epoch() }));
  }

  private pcp(bytes: Uint8Array, from: RemoteInfo, reply: (answer: Uint8Array) => void): void {
    const header = decodePcpRequestHeader(bytes);
    if (!header.ok) return; // RFC 6887 §8.3: what cannot be a request is dropped
    const epoch = this.epoch();
    const headerOnly = (opcode: number, resultCode: number) => reply(encodePcpResponse({ opcode, resultCode, lifetime: 30, epoch, map: null }));
    if (header.value.version !== 2) return headerOnly(header.value.opcode & 0x7f, 1);
    if (header.value.opcode === PCP_OPCODE_ANNOUNCE) return reply(encodePcpResponse({ opcode: PCP_OPCODE_ANNOUNCE, resultCode: 0, lifetime: 0, epoch, map: null }));
    if (header.value.opcode !== PCP_OPCODE_MAP) return headerOnly(header.value.opcode, 4);
    const decoded = decodePcpMapRequest(bytes);
    if (!decoded.ok) return headerOnly(PCP_OPCODE_MAP, 3);
    const request = decoded.value;
    const answer = (resultCode: number, lifetime: number, externalPort: number) =>
      reply(encodePcpResponse({ opcode: PCP_OPCODE_MAP, resultCode, lifetime, epoch, map: { nonce: request.nonce, protocol: request.protocol, internalPort: request.internalPort, externalPort, externalAddress: resultCode === 0 ? this.behaviour.externalAddress : (request.suggestedExternalAddress ?? ("0.0.0.0" as Ipv4Address)) } }));
    // The address in the request must be the one it came from, or another NAT is in between (§8.1).
    if (request.clientAddress !== from.address) return answer(12, 30, request.suggestedExternalPort);
    if (this.behaviour.refuse.pcp !== undefined) return answer(this.behaviour.refuse.pcp, 30, request.suggestedExternalPort);
    this.pcpMap(request, from.address, answer);
  }

  private pcpMap(request: PcpMapRequest, client: string, answer: (resultCode: number, lifetime: number, externalPort: number) => void): void {
    const existing = this.ownedBy(client, request.protocol, request.internalPort);
    // §11.3: a request for an existing mapping must repeat its nonce.
    if (existing && existing.nonce !== null && existing.nonce !== hex(request.nonce)) return answer(2, 30, request.suggestedExternalPort);
    if (request.lifetime === 0) {
      if (existing) this.table.delete(this.key(existing.protocol, existing.externalPort));
      return answer(0, 0, existing?.externalPort ?? request.suggestedExternalPort);
    }
    const lifetime = this.grantedLifetime(request.lifetime);
    const externalPort = existing?.externalPort ?? this.freePort(request.protocol, request.suggestedExternalPort, request.internalPort);
    this.put({ via: "pcp", protocol: request.protocol, externalPort, internalClient: client, internalPort: request.internalPort, lifetime, nonce: hex(request.nonce), description: null });
    answer(0, lifetime, externalPort);
  }

  private natPmp(bytes: Uint8Array, from: RemoteInfo, reply: (answer: Uint8Array) => void): void {
    const decoded = decodeNatPmpRequest(bytes);
    if (!decoded.ok) return;
    const request = decoded.value;
    const epoch = this.epoch();
    const send = (response: NatPmpResponse) => reply(encodeNatPmpResponse(response));
    if (request.kind === "other") return send({ kind: "error", opcode: request.opcode, resultCode: request.version !== 0 ? 1 : 5, epoch });
    if (request.kind === "external-address") return send({ kind: "external-address", resultCode: 0, epoch, externalAddress: this.behaviour.externalAddress });
    const opcode = request.protocol === "udp" ? 1 : 2;
    if (this.behaviour.refuse.natPmp !== undefined) return send({ kind: "error", opcode, resultCode: this.behaviour.refuse.natPmp, epoch });
    const existing = this.ownedBy(from.address, request.protocol, request.internalPort);
    if (request.lifetime === 0) {
      // miniupnpd deletes by the external port the request names (or the internal one when 0).
      const externalPort = request.suggestedExternalPort || request.internalPort;
      const mapping = this.table.get(this.key(request.protocol, externalPort));
      if (mapping && mapping.internalClient === from.address) this.table.delete(this.key(request.protocol, externalPort));
      return send({ kind: "map", resultCode: 0, epoch, protocol: request.protocol, internalPort: request.internalPort, externalPort: 0, lifetime: 0 });
    }
    const lifetime = this.grantedLifetime(request.lifetime);
    const externalPort = existing?.externalPort ?? this.freePort(request.protocol, request.suggestedExternalPort, request.internalPort);
    this.put({ via: "nat-pmp", protocol: request.protocol, externalPort, internalClient: from.address, internalPort: request.internalPort, lifetime, nonce: null, description: null });
    send({ kind: "map", resultCode: 0, epoch, protocol: request.protocol, internalPort: request.internalPort, externalPort, lifetime });
  }

  // -------------------------------------------------------------------------------------------
  // UPnP IGD

  private get deviceType(): string {
    return `urn:schemas-upnp-org:device:InternetGatewayDevice:${this.behaviour.upnp}`;
  }

  private get serviceType(): string {
    return `urn:schemas-upnp-org:service:WANIPConnection:${this.behaviour.upnp}`;
  }

  private onSsdp(message: Buffer, from: RemoteInfo): void {
    const text = message.toString("utf8");
    const lines = text.split("\r\n");
    const header = (name: string) => lines.find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))?.slice(name.length + 1).trim();
    this.requests.push({ protocol: "ssdp", what: `${lines[0]} ${header("ST") ?? ""}`.trim() });
    if (this.behaviour.upnp === null || lines[0] !== "M-SEARCH * HTTP/1.1" || header("MAN") !== '"ssdp:discover"') return;
    const target = header("ST");
    if (target !== this.deviceType && target !== "ssdp:all" && target !== "upnp:rootdevice") return;
    const location = this.behaviour.location ?? `http://${this.address}:${this.ports.http}${DESCRIPTION_PATH}`;
    const answer = [
      "HTTP/1.1 200 OK",
      "CACHE-CONTROL: max-age=120",
      `ST: ${this.deviceType}`,
      `USN: uuid:5ba15e00-0000-4000-8000-000000000001::${this.deviceType}`,
      "EXT:",
      "SERVER: LimaWAN-standin/1.0 UPnP/1.1 gateway/1.0",
      `LOCATION: ${location}`,
      "",
      "",
    ].join("\r\n");
    this.ssdp.send(answer, from.port, from.address);
  }

  private async onHttp(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const xml = (status: number, text: string): void => void response.writeHead(status, { "Content-Type": 'text/xml; charset="utf-8"' }).end(text);
    if (this.behaviour.upnp === null) return void response.writeHead(404).end();
    if (request.method === "GET" && request.url === DESCRIPTION_PATH) {
      this.requests.push({ protocol: "http", what: `GET ${DESCRIPTION_PATH}` });
      return xml(200, this.description());
    }
    if (request.method !== "POST" || request.url !== CONTROL_PATH) return void response.writeHead(404).end();
    const call = readSoapCall(body);
    this.requests.push({ protocol: "http", what: `POST ${call?.action ?? "?"}` });
    const soapAction = String(request.headers.soapaction ?? "");
    if (!call || soapAction !== `"${this.serviceType}#${call.action}"`) return xml(500, fault(401, "Invalid Action"));
    const outcome = this.soap(call.action, call.args, request.socket.remoteAddress ?? "");
    if ("fault" in outcome) return xml(500, fault(outcome.fault, outcome.description));
    const args = Object.entries(outcome.values)
      .map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`)
      .join("");
    xml(200, envelope(`<u:${call.action}Response xmlns:u="${this.serviceType}">${args}</u:${call.action}Response>`));
  }

  private soap(action: string, args: Record<string, string>, peer: string): { values: Record<string, string> } | { fault: number; description: string } {
    if (action === "GetExternalIPAddress") return { values: { NewExternalIPAddress: this.behaviour.externalAddress } };
    const protocol = args.NewProtocol === "TCP" ? "tcp" : args.NewProtocol === "UDP" ? "udp" : null;
    const externalPort = Number(args.NewExternalPort);
    if (!protocol || !Number.isInteger(externalPort) || externalPort < 0 || externalPort > 65_535) return { fault: 402, description: "Invalid Args" };
    if (action === "DeletePortMapping") {
      const mapping = this.table.get(this.key(protocol, externalPort));
      if (!mapping || mapping.internalClient !== peer) return { fault: 714, description: "NoSuchEntryInArray" };
      this.table.delete(this.key(protocol, externalPort));
      return { values: {} };
    }
    if (action !== "AddPortMapping" && !(action === "AddAnyPortMapping" && this.behaviour.upnp === 2)) return { fault: 401, description: "Invalid Action" };
    const internalPort = Number(args.NewInternalPort);
    const lease = Number(args.NewLeaseDuration);
    if (!Number.isInteger(internalPort) || internalPort < 1 || internalPort > 65_535 || !Number.isInteger(lease) || lease < 0) return { fault: 402, description: "Invalid Args" };
    // miniupnpd's secure mode: a client maps ports to itself only.
    if (args.NewInternalClient !== peer) return { fault: 606, description: "Action not authorized" };
    if (this.behaviour.refuse.upnp !== undefined) return { fault: this.behaviour.refuse.upnp, description: "refused by the stand-in" };
    if (this.behaviour.permanentOnly && lease !== 0) return { fault: 725, description: "OnlyPermanentLeasesSupported" };
    this.expire();
    const taken = this.table.get(this.key(protocol, externalPort));
    const own = taken && taken.internalClient === peer && taken.internalPort === internalPort;
    let granted = externalPort;
    if (action === "AddAnyPortMapping") granted = own ? externalPort : this.freePort(protocol, externalPort, internalPort);
    else if (taken && !own) return { fault: 718, description: "ConflictInMappingEntry" };
    const lifetime = lease === 0 ? 0 : this.grantedLifetime(lease);
    this.put({ via: "upnp", protocol, externalPort: granted, internalClient: peer, internalPort, lifetime, nonce: null, description: args.NewPortMappingDescription ?? null });
    return { values: action === "AddAnyPortMapping" ? { NewReservedPort: String(granted) } : {} };
  }

  private description(): string {
    const control = this.behaviour.controlUrl ?? CONTROL_PATH;
    return `<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
<specVersion><major>1</major><minor>1</minor></specVersion>
<device>
<deviceType>${this.deviceType}</deviceType>
<friendlyName>LimaWAN stand-in gateway</friendlyName>
<UDN>uuid:5ba15e00-0000-4000-8000-000000000001</UDN>
<deviceList><device>
<deviceType>urn:schemas-upnp-org:device:WANDevice:${this.behaviour.upnp}</deviceType>
<UDN>uuid:5ba15e00-0000-4000-8000-000000000002</UDN>
<deviceList><device>
<deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:${this.behaviour.upnp}</deviceType>
<UDN>uuid:5ba15e00-0000-4000-8000-000000000003</UDN>
<serviceList><service>
<serviceType>${this.serviceType}</serviceType>
<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>
<SCPDURL>/WANIPCn.xml</SCPDURL>
<controlURL>${escapeXml(control)}</controlURL>
<eventSubURL>/evt/IPConn</eventSubURL>
</service></serviceList>
</device></deviceList>
</device></deviceList>
</device>
</root>
`;
  }
}

function pcpWhat(bytes: Uint8Array): string {
  const header = decodePcpRequestHeader(bytes);
  if (!header.ok) return `unreadable (${header.problem.code})`;
  const name = header.value.opcode === PCP_OPCODE_MAP ? "MAP" : header.value.opcode === PCP_OPCODE_ANNOUNCE ? "ANNOUNCE" : `opcode ${header.value.opcode}`;
  return header.value.version === 2 ? `${name} lifetime=${header.value.lifetime}` : `version ${header.value.version}`;
}

function natPmpWhat(bytes: Uint8Array): string {
  const request = decodeNatPmpRequest(bytes);
  if (!request.ok) return `unreadable (${request.problem.code})`;
  if (request.value.kind === "external-address") return "external address";
  if (request.value.kind === "other") return `version ${request.value.version} opcode ${request.value.opcode}`;
  return `map ${request.value.protocol} lifetime=${request.value.lifetime}`;
}

const soapReader = new XMLParser({ removeNSPrefix: true, parseTagValue: false, ignoreAttributes: true });

function readSoapCall(body: string): { action: string; args: Record<string, string> } | null {
  try {
    const parsed = soapReader.parse(body) as { Envelope?: { Body?: Record<string, unknown> } };
    const soapBody = parsed.Envelope?.Body;
    if (!soapBody || typeof soapBody !== "object") return null;
    const action = Object.keys(soapBody)[0];
    if (!action) return null;
    const raw = soapBody[action];
    const args: Record<string, string> = {};
    if (raw && typeof raw === "object") for (const [name, value] of Object.entries(raw)) args[name] = typeof value === "string" ? value : "";
    return { action, args };
  } catch {
    return null;
  }
}

function envelope(inner: string): string {
  return `<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>${inner}</s:Body></s:Envelope>\r\n`;
}

function fault(code: number, description: string): string {
  return envelope(
    `<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>${code}</errorCode><errorDescription>${escapeXml(description)}</errorDescription></UPnPError></detail></s:Fault>`,
  );
}

function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (body += chunk));
    request.on("end", () => resolve(body));
  });
}
