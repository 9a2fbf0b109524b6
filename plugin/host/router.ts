// The router client: asks the WAN interface's gateway to map a port to the Mac (PCP, then
// NAT-PMP, then — only where the forward allows it — UPnP IGD), to delete a mapping, and for
// its external address. The messages are plugin/router/'s pure codecs; this file only moves
// them, bounded: every reply size-limited, every exchange and the whole call time-limited,
// replies from anyone but the gateway ignored, and nothing a router says used but as data.
//
// The gateway and its ports come from the constructor, never from the environment: a root
// copy of LimaWAN must not be pointed at another host by a variable (tests pass 127.0.0.1).
import type { Ipv4Address } from "../../compiler/ir.js";
import { excerpt } from "../../compiler/printable.js";
import {
  nextProtocol,
  nonceFromHex,
  nonceToHex,
  protocolOrder,
  refusalOf,
  type Attempt,
  type AttemptResult,
  type GrantedMapping,
  type MapOutcome,
  type MapRequest,
  type Refusal,
  type RouterProtocol,
} from "../router/mapping.js";
import {
  answersNatPmpExternalAddress,
  answersNatPmpMap,
  decodeNatPmpReply,
  encodeNatPmpExternalAddressRequest,
  encodeNatPmpMapRequest,
  type NatPmpMapRequest,
  type NatPmpResponse,
} from "../router/nat-pmp-codec.js";
import type { EpochReading } from "../router/epoch.js";
import { MAX_PAYLOAD } from "../router/packet.js";
import { answersPcpMap, decodePcpReply, encodePcpAnnounceRequest, encodePcpMapRequest, PCP_NONCE_SIZE, PCP_OPCODE_ANNOUNCE, type PcpMapRequest, type PcpReply } from "../router/pcp-codec.js";
import { resultCode, UPNP_ERROR } from "../router/result-codes.js";
import { gatewayUrl, IGD_SEARCH_TARGETS, MAX_SSDP_REPLY, readSsdpAnswer, SSDP_MULTICAST_ADDRESS, SSDP_PORT, ssdpSearch } from "../router/ssdp.js";
import {
  CONNECTION_SERVICES,
  MAX_DESCRIPTION,
  MAX_SOAP_REPLY,
  readDeviceDescription,
  readSoapReply,
  soapRequest,
  type ConnectionService,
  type ConnectionServiceType,
  type UpnpAction,
} from "../router/upnp-igd.js";
import { crypto } from "./lazy-builtins.js";
import { httpRequest, udpExchange, type Destination, type UdpResult } from "./router-transport.js";

/** PCP and NAT-PMP share the gateway's port 5351 (RFC 6887 §19). */
export const PORT_MAPPING_PORT = 5351;

export interface RouterTiming {
  /** First retransmission of a PCP/NAT-PMP request or SSDP search; each next one doubles. */
  retransmitMs: number;
  /** One PCP or NAT-PMP exchange, retransmissions included. */
  exchangeMs: number;
  /** Waiting for SSDP answers. */
  discoveryMs: number;
  /** One HTTP request to the router (its description, one SOAP action). */
  httpMs: number;
  /** A whole call (map, unmap, externalAddress, probe), every protocol tried included. */
  totalMs: number;
}

export const DEFAULT_ROUTER_TIMING: Readonly<RouterTiming> = { retransmitMs: 250, exchangeMs: 2000, discoveryMs: 2000, httpMs: 3000, totalMs: 8000 };

export interface RouterClientOptions {
  /** The WAN interface's gateway (`route -n get default`): requests go there, and only its answers count. */
  gateway: Ipv4Address;
  /** PCP and NAT-PMP (5351), and the gateway's SSDP port for the unicast search (1900). */
  ports?: { portMapping?: number; ssdp?: number };
  /** Also search the SSDP multicast group 239.255.255.250:1900 (UDA 1.1 §1.3.2). Tests turn it off: they talk to loopback only. */
  multicastSsdp?: boolean;
  timing?: Partial<RouterTiming>;
  /** Seconds, never going back within a process; stamps `receivedAt` for epoch checks. */
  clock?: () => number;
  /** 12 random bytes for a new PCP mapping's nonce. */
  randomNonce?: () => Uint8Array;
}

export type UnmapOutcome = { ok: true; attempts: Attempt[] } | { ok: false; refusal: Refusal; attempts: Attempt[] };

export type ExternalAddressOutcome =
  | { ok: true; address: Ipv4Address; via: RouterProtocol; attempts: Attempt[] }
  | { ok: false; refusal: Refusal; attempts: Attempt[] };

/** What the gateway says now of itself (the watcher's check): each protocol's epoch, and its external address (NAT-PMP's opcode 0). */
export interface GatewayReading {
  pcp: EpochReading | null;
  natPmp: EpochReading | null;
  externalAddress: Ipv4Address | null;
}

/** Which protocols the gateway answers (doctor, diagnose). `upnp` is null when it was not asked. */
export interface RouterProbe {
  pcp: boolean;
  natPmp: boolean;
  upnp: boolean | null;
}

type Deadline = () => number;

export class RouterClient {
  readonly gateway: Ipv4Address;
  private readonly portMappingPort: number;
  private readonly ssdpPort: number;
  private readonly multicastSsdp: boolean;
  private readonly timing: RouterTiming;
  private readonly clock: () => number;
  private readonly randomNonce: () => Uint8Array;

  constructor(options: RouterClientOptions) {
    this.gateway = options.gateway;
    this.portMappingPort = options.ports?.portMapping ?? PORT_MAPPING_PORT;
    this.ssdpPort = options.ports?.ssdp ?? SSDP_PORT;
    this.multicastSsdp = options.multicastSsdp ?? true;
    this.timing = { ...DEFAULT_ROUTER_TIMING, ...options.timing };
    this.clock = options.clock ?? (() => (performance.timeOrigin + performance.now()) / 1000);
    this.randomNonce = options.randomNonce ?? (() => new Uint8Array(crypto().randomBytes(PCP_NONCE_SIZE)));
  }

  /** Map one port, trying the protocols in order; a renewal passes the mapping's nonce (and may prefer the protocol that made it). */
  async map(request: MapRequest): Promise<MapOutcome> {
    const deadline = this.deadline();
    const nonce = request.nonce ? nonceFromHex(request.nonce) : this.randomNonce();
    if (!nonce || nonce.length !== PCP_NONCE_SIZE) throw new RangeError("a PCP nonce is 24 hex digits");
    const order = protocolOrder(request.allowUpnp, request.prefer ?? null);
    const attempts: Attempt[] = [];
    for (let via: RouterProtocol | null = order[0]!; via; ) {
      const { result, mapping } = await this.mapWith(via, request, nonce, deadline);
      const attempt: Attempt = { via, result };
      attempts.push(attempt);
      if (mapping) return { ok: true, mapping, attempts };
      via = deadline() > 0 ? nextProtocol(order, attempt) : null;
    }
    return { ok: false, refusal: refusalOf(attempts), attempts };
  }

  /** Delete a mapping where it was made: lifetime 0 with its nonce (PCP §15), lifetime 0 (NAT-PMP §3.4), DeletePortMapping (UPnP). */
  async unmap(mapping: GrantedMapping): Promise<UnmapOutcome> {
    const deadline = this.deadline();
    let result: AttemptResult;
    if (mapping.via === "pcp") {
      const nonce = mapping.nonce ? nonceFromHex(mapping.nonce) : null;
      if (!nonce) throw new RangeError("a PCP mapping without its nonce cannot be deleted");
      result = (await this.pcpMap({ clientAddress: mapping.clientAddress, protocol: mapping.protocol, internalPort: mapping.internalPort, externalPort: mapping.externalPort, lifetime: 0 }, nonce, deadline)).result;
    } else if (mapping.via === "nat-pmp") {
      // The granted external port, not 0: miniupnpd finds the mapping to delete by it.
      result = (await this.natPmpMap({ clientAddress: mapping.clientAddress, protocol: mapping.protocol, internalPort: mapping.internalPort, externalPort: mapping.externalPort, lifetime: 0 }, deadline)).result;
    } else {
      result = await this.upnpDelete(mapping, deadline);
    }
    const attempts = [{ via: mapping.via, result }];
    return result.kind === "granted" ? { ok: true, attempts } : { ok: false, refusal: refusalOf(attempts), attempts };
  }

  /** The router's external address: NAT-PMP's opcode 0 (PCP has no such question; its MAP replies carry the address), else UPnP where allowed. */
  async externalAddress(options: { clientAddress: Ipv4Address; allowUpnp: boolean }): Promise<ExternalAddressOutcome> {
    const deadline = this.deadline();
    const attempts: Attempt[] = [];
    const natPmp = await this.natPmpExternalAddress(options.clientAddress, deadline);
    attempts.push({ via: "nat-pmp", result: natPmp.result });
    if (natPmp.address) return { ok: true, address: natPmp.address, via: "nat-pmp", attempts };
    if (options.allowUpnp && deadline() > 0) {
      const upnp = await this.upnpExternalAddress(options.clientAddress, deadline);
      attempts.push({ via: "upnp", result: upnp.result });
      if (upnp.address) return { ok: true, address: upnp.address, via: "upnp", attempts };
    }
    return { ok: false, refusal: refusalOf(attempts), attempts };
  }

  /** Which protocols answer at all: PCP's ANNOUNCE and NAT-PMP's opcode 0 at once, then SSDP if allowed. */
  async probe(options: { clientAddress: Ipv4Address; allowUpnp: boolean }): Promise<RouterProbe> {
    const deadline = this.deadline();
    const reading = await this.readGateway(options.clientAddress, deadline);
    const upnp = options.allowUpnp ? (await this.discover(options.clientAddress, deadline)).services !== null : null;
    return { pcp: reading.pcp !== null, natPmp: reading.natPmp !== null, upnp };
  }

  /**
   * The gateway's epochs and external address, in one round of two datagrams (PCP ANNOUNCE,
   * RFC 6887 §14.1, and NAT-PMP opcode 0): cheap enough for the watcher to ask every check, so
   * a restart is seen before the next renewal is due.
   */
  async read(clientAddress: Ipv4Address): Promise<GatewayReading> {
    return this.readGateway(clientAddress, this.deadline());
  }

  private async readGateway(clientAddress: Ipv4Address, deadline: Deadline): Promise<GatewayReading> {
    // An answer in the other protocol's version is a "no" at once, not a wait.
    const [pcp, natPmp] = await Promise.all([
      this.exchange(clientAddress, encodePcpAnnounceRequest(clientAddress), deadline, (bytes) => {
        const reply = decodePcpReply(bytes);
        if (!reply.ok) return null;
        if (reply.value.kind === "other-version") return false as const;
        return reply.value.response.opcode === PCP_OPCODE_ANNOUNCE ? { epoch: reply.value.response.epoch, receivedAt: this.clock() } : null;
      }),
      this.exchange(clientAddress, encodeNatPmpExternalAddressRequest(), deadline, (bytes) => {
        const reply = decodeNatPmpReply(bytes);
        if (!reply.ok) return null;
        if (reply.value.kind === "other-version") return false as const;
        const response = reply.value.response;
        if (!answersNatPmpExternalAddress(response)) return null;
        // A refusal (no WAN address yet, say) still says NAT-PMP is spoken, and its epoch.
        return { epoch: response.epoch, receivedAt: this.clock(), address: response.kind === "external-address" ? response.externalAddress : null };
      }),
    ]);
    const pcpReading = pcp.kind === "answer" && pcp.value ? pcp.value : null;
    const natPmpReading = natPmp.kind === "answer" && natPmp.value ? natPmp.value : null;
    return {
      pcp: pcpReading,
      natPmp: natPmpReading && { epoch: natPmpReading.epoch, receivedAt: natPmpReading.receivedAt },
      externalAddress: natPmpReading?.address ?? null,
    };
  }

  // -------------------------------------------------------------------------------------------

  private deadline(): Deadline {
    const end = Date.now() + this.timing.totalMs;
    return () => end - Date.now();
  }

  private async mapWith(via: RouterProtocol, request: MapRequest, nonce: Uint8Array, deadline: Deadline): Promise<{ result: AttemptResult; mapping?: GrantedMapping }> {
    switch (via) {
      case "pcp":
        return this.pcpMap(request, nonce, deadline);
      case "nat-pmp":
        return this.natPmpMap(request, deadline);
      case "upnp":
        return this.upnpMap(request, deadline);
    }
  }

  private exchange<T>(from: Ipv4Address, payload: Uint8Array, deadline: Deadline, accept: (bytes: Uint8Array) => T | null): Promise<UdpResult<T>> {
    const budget = Math.min(this.timing.exchangeMs, deadline());
    if (budget <= 0) return Promise.resolve({ kind: "no-answer" });
    return udpExchange({
      from,
      to: [{ address: this.gateway, port: this.portMappingPort }],
      payloads: [payload],
      replyFrom: { address: this.gateway, port: this.portMappingPort },
      maxReply: MAX_PAYLOAD,
      accept,
      retransmitMs: this.timing.retransmitMs,
      deadlineMs: budget,
    });
  }

  private async pcpMap(request: Omit<MapRequest, "allowUpnp" | "description">, nonce: Uint8Array, deadline: Deadline): Promise<{ result: AttemptResult; mapping?: GrantedMapping }> {
    const pcpRequest: PcpMapRequest = {
      lifetime: request.lifetime,
      clientAddress: request.clientAddress,
      nonce,
      protocol: request.protocol,
      internalPort: request.internalPort,
      suggestedExternalPort: request.externalPort,
      suggestedExternalAddress: null,
    };
    const answer = await this.exchange<PcpReply>(request.clientAddress, encodePcpMapRequest(pcpRequest), deadline, (bytes) => {
      const reply = decodePcpReply(bytes);
      if (!reply.ok) return null;
      return reply.value.kind === "other-version" || answersPcpMap(pcpRequest, reply.value.response) ? reply.value : null;
    });
    if (answer.kind !== "answer") return { result: udpFailure(answer, request.clientAddress) };
    if (answer.value.kind === "other-version") return { result: { kind: "other-version", version: answer.value.version } };
    const { resultCode: code, lifetime, epoch, map } = answer.value.response;
    if (code !== 0) return { result: { kind: "refused", result: resultCode("pcp", code) } };
    if (request.lifetime === 0) return { result: { kind: "granted" } };
    if (!map || lifetime === 0 || map.externalPort === 0) return { result: { kind: "unusable", detail: "the router said SUCCESS but granted no port or lifetime" } };
    return {
      result: { kind: "granted" },
      mapping: {
        via: "pcp",
        protocol: request.protocol,
        clientAddress: request.clientAddress,
        internalPort: request.internalPort,
        externalPort: map.externalPort,
        externalAddress: map.externalAddress,
        lifetime,
        epoch,
        receivedAt: this.clock(),
        nonce: nonceToHex(nonce),
        upnp: null,
      },
    };
  }

  private async natPmpMap(request: Omit<MapRequest, "allowUpnp" | "description">, deadline: Deadline): Promise<{ result: AttemptResult; mapping?: GrantedMapping }> {
    const natPmpRequest: NatPmpMapRequest = { protocol: request.protocol, internalPort: request.internalPort, suggestedExternalPort: request.externalPort, lifetime: request.lifetime };
    const answer = await this.exchange(request.clientAddress, encodeNatPmpMapRequest(natPmpRequest), deadline, (bytes) => {
      const reply = decodeNatPmpReply(bytes);
      if (!reply.ok) return null;
      return reply.value.kind === "other-version" || answersNatPmpMap(natPmpRequest, reply.value.response) ? reply.value : null;
    });
    if (answer.kind !== "answer") return { result: udpFailure(answer, request.clientAddress) };
    if (answer.value.kind === "other-version") return { result: { kind: "other-version", version: answer.value.version } };
    const response: NatPmpResponse = answer.value.response;
    if (response.kind === "error") return { result: { kind: "refused", result: resultCode("nat-pmp", response.resultCode) } };
    if (response.kind !== "map") return { result: { kind: "unusable", detail: "the router answered another question" } };
    if (request.lifetime === 0) return { result: { kind: "granted" } };
    if (response.lifetime === 0 || response.externalPort === 0) return { result: { kind: "unusable", detail: "the router said Success but granted no port or lifetime" } };
    const receivedAt = this.clock();
    // The map reply has no address: ask for it (RFC 6886 §3.2), best effort.
    const external = await this.natPmpExternalAddress(request.clientAddress, deadline);
    return {
      result: { kind: "granted" },
      mapping: {
        via: "nat-pmp",
        protocol: request.protocol,
        clientAddress: request.clientAddress,
        internalPort: request.internalPort,
        externalPort: response.externalPort,
        externalAddress: external.address,
        lifetime: response.lifetime,
        epoch: response.epoch,
        receivedAt,
        nonce: null,
        upnp: null,
      },
    };
  }

  private async natPmpExternalAddress(clientAddress: Ipv4Address, deadline: Deadline): Promise<{ result: AttemptResult; address: Ipv4Address | null }> {
    const answer = await this.exchange(clientAddress, encodeNatPmpExternalAddressRequest(), deadline, (bytes) => {
      const reply = decodeNatPmpReply(bytes);
      if (!reply.ok) return null;
      return reply.value.kind === "other-version" || answersNatPmpExternalAddress(reply.value.response) ? reply.value : null;
    });
    if (answer.kind !== "answer") return { result: udpFailure(answer, clientAddress), address: null };
    if (answer.value.kind === "other-version") return { result: { kind: "other-version", version: answer.value.version }, address: null };
    const response = answer.value.response;
    if (response.kind === "error") return { result: { kind: "refused", result: resultCode("nat-pmp", response.resultCode) }, address: null };
    return response.kind === "external-address" ? { result: { kind: "granted" }, address: response.externalAddress } : { result: { kind: "unusable", detail: "the router answered another question" }, address: null };
  }

  // -------------------------------------------------------------------------------------------
  // UPnP IGD

  /** SSDP, then the description at the LOCATION: the connection services, or why there are none. */
  private async discover(clientAddress: Ipv4Address, deadline: Deadline): Promise<{ services: ConnectionService[] | null; result: AttemptResult }> {
    const budget = Math.min(this.timing.discoveryMs, deadline());
    if (budget <= 0) return { services: null, result: { kind: "no-answer" } };
    let ignored: string | null = null;
    const search = (to: Destination[], deadlineMs: number) =>
      udpExchange({
        from: clientAddress,
        to,
        payloads: IGD_SEARCH_TARGETS.map((target) => new TextEncoder().encode(ssdpSearch(target))),
        replyFrom: { address: this.gateway, port: null },
        maxReply: MAX_SSDP_REPLY,
        accept: (bytes) => {
          const read = readSsdpAnswer(new TextDecoder("utf-8", { fatal: false }).decode(bytes));
          if (!read.ok) return null;
          const location = gatewayUrl(read.answer.location, this.gateway);
          if (!location.ok) {
            ignored = `an SSDP answer's LOCATION ${excerpt(read.answer.location, 80)} is ${location.reason}`;
            return null;
          }
          return location.url;
        },
        retransmitMs: this.timing.retransmitMs * 2,
        deadlineMs,
      });
    // Unicast to the gateway first (tailscale#3197: most gateways answer it); the multicast
    // group only when that got no answer, and never for a gateway on loopback (a stand-in: the
    // tests' traffic stays on 127.0.0.0/8).
    const multicast = this.multicastSsdp && !this.gateway.startsWith("127.");
    let answer = await search([{ address: this.gateway, port: this.ssdpPort }], multicast ? Math.ceil(budget / 2) : budget);
    if (answer.kind === "no-answer" && multicast && deadline() > 0) {
      answer = await search([{ address: this.gateway, port: this.ssdpPort }, { address: SSDP_MULTICAST_ADDRESS, port: SSDP_PORT }], Math.min(Math.floor(budget / 2), deadline()));
    }
    if (answer.kind === "error") return { services: null, result: { kind: "unusable", detail: `SSDP: ${excerpt(answer.message, 120)}` } };
    if (answer.kind === "no-answer") return { services: null, result: ignored ? { kind: "unusable", detail: ignored } : { kind: "no-answer" } };
    const description = await this.http(clientAddress, answer.value, "GET", undefined, MAX_DESCRIPTION, deadline);
    if (!description.ok) return { services: null, result: { kind: "unusable", detail: `the device description at ${answer.value.href}: ${description.reason}` } };
    if (description.reply.status !== 200) return { services: null, result: { kind: "unusable", detail: `the device description at ${answer.value.href}: HTTP ${description.reply.status}` } };
    const read = readDeviceDescription(description.reply.body, answer.value, this.gateway);
    if (!read.ok) return { services: null, result: { kind: "unusable", detail: `the device description at ${answer.value.href}: ${read.reason}` } };
    return { services: read.services, result: { kind: "granted" } };
  }

  private async upnpMap(request: MapRequest, deadline: Deadline): Promise<{ result: AttemptResult; mapping?: GrantedMapping }> {
    const found = await this.discover(request.clientAddress, deadline);
    if (!found.services) return { result: found.result };
    let last: AttemptResult = { kind: "no-answer" };
    for (const service of found.services) {
      const outcome = await this.upnpAdd(service, request, deadline);
      if (outcome.result.kind === "unusable" && deadline() > 0) {
        // This service did not answer usably: the next one listed may (a router with both WANIPConnection and WANPPPConnection).
        last = outcome.result;
        continue;
      }
      if (!outcome.granted) return { result: outcome.result };
      const external = await this.soap(request.clientAddress, service, { action: "GetExternalIPAddress" }, deadline);
      return {
        result: { kind: "granted" },
        mapping: {
          via: "upnp",
          protocol: request.protocol,
          clientAddress: request.clientAddress,
          internalPort: request.internalPort,
          externalPort: outcome.granted.externalPort,
          externalAddress: external.kind === "ok" ? external.value.externalAddress : null,
          lifetime: outcome.granted.lease,
          epoch: null,
          receivedAt: this.clock(),
          nonce: null,
          upnp: { controlUrl: service.controlUrl.href, serviceType: service.serviceType },
        },
      };
    }
    return { result: last };
  }

  /**
   * AddAnyPortMapping (IGD v2: the router picks a free port if ours is taken), else
   * AddPortMapping; each retried with lease 0 when the router takes permanent leases only
   * (725, and 402 from routers that say so wrongly: tailscale#9343).
   */
  private async upnpAdd(service: ConnectionService, request: MapRequest, deadline: Deadline): Promise<{ result: AttemptResult; granted?: { externalPort: number; lease: number } }> {
    const actions = service.serviceType === CONNECTION_SERVICES[0] ? (["AddAnyPortMapping", "AddPortMapping"] as const) : (["AddPortMapping"] as const);
    let result: AttemptResult = { kind: "no-answer" };
    for (const action of actions) {
      for (const lease of request.lifetime === 0 ? [0] : [request.lifetime, 0]) {
        const reply = await this.soap(request.clientAddress, service, { action, externalPort: request.externalPort, protocol: request.protocol, internalPort: request.internalPort, internalClient: request.clientAddress, description: request.description, leaseSeconds: lease }, deadline);
        if (reply.kind === "ok") return { result: { kind: "granted" }, granted: { externalPort: reply.value.externalPort, lease } };
        if (reply.kind === "unreadable") return { result: { kind: "unusable", detail: `${action}: ${reply.reason}` } };
        result = { kind: "refused", result: resultCode("upnp", reply.code) };
        const permanentOnly = reply.code === UPNP_ERROR.ONLY_PERMANENT_LEASES || reply.code === UPNP_ERROR.INVALID_ARGS;
        if (!(permanentOnly && lease !== 0)) break;
      }
      // 401 Invalid Action: the service lacks AddAnyPortMapping after all; try AddPortMapping.
      if (!(result.kind === "refused" && result.result.code === 401)) break;
    }
    return { result };
  }

  private async upnpDelete(mapping: GrantedMapping, deadline: Deadline): Promise<AttemptResult> {
    if (!mapping.upnp) throw new RangeError("a UPnP mapping without its control URL cannot be deleted");
    const url = gatewayUrl(mapping.upnp.controlUrl, this.gateway);
    if (!url.ok) return { kind: "unusable", detail: `the recorded control URL is ${url.reason}` };
    const service = { serviceType: mapping.upnp.serviceType, controlUrl: url.url };
    const reply = await this.soap(mapping.clientAddress, service, { action: "DeletePortMapping", externalPort: mapping.externalPort, protocol: mapping.protocol }, deadline);
    if (reply.kind === "ok") return { kind: "granted" };
    if (reply.kind === "unreadable") return { kind: "unusable", detail: `DeletePortMapping: ${reply.reason}` };
    // 714 NoSuchEntryInArray: already gone (expired, or the router restarted), which is what was asked.
    return reply.code === UPNP_ERROR.NO_SUCH_ENTRY ? { kind: "granted" } : { kind: "refused", result: resultCode("upnp", reply.code) };
  }

  private async upnpExternalAddress(clientAddress: Ipv4Address, deadline: Deadline): Promise<{ result: AttemptResult; address: Ipv4Address | null }> {
    const found = await this.discover(clientAddress, deadline);
    if (!found.services) return { result: found.result, address: null };
    const reply = await this.soap(clientAddress, found.services[0]!, { action: "GetExternalIPAddress" }, deadline);
    if (reply.kind === "ok") return { result: { kind: "granted" }, address: reply.value.externalAddress };
    return { result: reply.kind === "fault" ? { kind: "refused", result: resultCode("upnp", reply.code) } : { kind: "unusable", detail: `GetExternalIPAddress: ${reply.reason}` }, address: null };
  }

  private async soap<A extends UpnpAction>(from: Ipv4Address, service: { serviceType: ConnectionServiceType; controlUrl: URL }, action: A, deadline: Deadline): Promise<ReturnType<typeof readSoapReply<A>>> {
    const request = soapRequest(service.serviceType, action);
    const answer = await this.http(from, service.controlUrl, "POST", { "Content-Type": 'text/xml; charset="utf-8"', SOAPAction: request.soapAction, body: request.body }, MAX_SOAP_REPLY, deadline);
    if (!answer.ok) return { kind: "unreadable", reason: answer.reason };
    return readSoapReply(action, answer.reply.status, answer.reply.body);
  }

  private http(from: Ipv4Address, url: URL, method: "GET" | "POST", post: { "Content-Type": string; SOAPAction: string; body: string } | undefined, maxBody: number, deadline: Deadline) {
    const budget = Math.min(this.timing.httpMs, deadline());
    if (budget <= 0) return Promise.resolve({ ok: false as const, reason: "out of time" });
    // The URL was checked against the gateway where it was read; check again before any byte goes out.
    const checked = gatewayUrl(url.href, this.gateway);
    if (!checked.ok) return Promise.resolve({ ok: false as const, reason: checked.reason });
    const headers = post ? { "Content-Type": post["Content-Type"], SOAPAction: post.SOAPAction } : undefined;
    return httpRequest(checked.url, { method, headers, body: post?.body, maxBody, timeoutMs: budget, localAddress: from });
  }
}

function udpFailure(result: { kind: "no-answer" } | { kind: "error"; message: string }, from: Ipv4Address): AttemptResult {
  return result.kind === "no-answer" ? { kind: "no-answer" } : { kind: "unusable", detail: `cannot send from ${from}: ${excerpt(result.message, 120)}` };
}
