// The router client's two ways of talking, each bounded in size and time whatever the other
// side does (ROUTER-FACTS.md "Safety"): a UDP exchange with retransmission (PCP, NAT-PMP,
// SSDP), and one HTTP request (UPnP's description and SOAP). Only datagrams from the address
// (and port) the request went to are read; everything else on the socket is ignored.
import type { Ipv4Address } from "../../compiler/ir.js";
import { dgram, http } from "./lazy-builtins.js";

export interface Destination { address: string; port: number }

export interface UdpExchange<T> {
  /** Sent from this local address (the Mac's own on the WAN interface: PCP names it, the router maps to it). */
  from: Ipv4Address;
  /** Where each datagram goes; several for SSDP (the gateway, and the multicast group). */
  to: readonly Destination[];
  /** Each sent to every destination, at the start and at each retransmission (SSDP sends one search per IGD version). */
  payloads: readonly Uint8Array[];
  /** Only datagrams from this source are read; `port: null` accepts any port of the address (SSDP answers). */
  replyFrom: { address: string; port: number | null };
  /** Larger datagrams are dropped unread. */
  maxReply: number;
  /** A reply → the answer, or null to keep waiting (not ours, unreadable, another exchange's). */
  accept: (reply: Uint8Array) => T | null;
  /** First retransmission after this many ms, each next one after twice the previous. */
  retransmitMs: number;
  /** The whole exchange ends after this many ms, answered or not. */
  deadlineMs: number;
}

export type UdpResult<T> = { kind: "answer"; value: T } | { kind: "no-answer" } | { kind: "error"; message: string };

export function udpExchange<T>(exchange: UdpExchange<T>): Promise<UdpResult<T>> {
  return new Promise((resolve) => {
    const socket = dgram().createSocket({ type: "udp4" });
    const timers: NodeJS.Timeout[] = [];
    let done = false;
    const finish = (result: UdpResult<T>) => {
      if (done) return;
      done = true;
      for (const timer of timers) clearTimeout(timer);
      socket.close();
      resolve(result);
    };
    socket.on("error", (error) => finish({ kind: "error", message: error.message }));
    socket.on("message", (reply, source) => {
      if (source.address !== exchange.replyFrom.address) return;
      if (exchange.replyFrom.port !== null && source.port !== exchange.replyFrom.port) return;
      if (reply.length > exchange.maxReply) return;
      const value = exchange.accept(new Uint8Array(reply.buffer, reply.byteOffset, reply.byteLength));
      if (value !== null) finish({ kind: "answer", value });
    });
    const send = () => {
      for (const payload of exchange.payloads) {
        for (const destination of exchange.to) {
          socket.send(payload, destination.port, destination.address, (error) => {
            if (error) finish({ kind: "error", message: error.message });
          });
        }
      }
    };
    socket.bind({ address: exchange.from, port: 0, exclusive: true }, () => {
      if (done) return;
      if (exchange.to.some((d) => isMulticast(d.address))) {
        // Out of the WAN interface, and no further than the LAN (UDA 1.1 §1.1.2: TTL 2).
        socket.setMulticastInterface(exchange.from);
        socket.setMulticastTTL(2);
      }
      send();
      // 250 ms, then 500, 1000…: RFC 6886 §3.1's schedule, cut off by the deadline.
      for (let at = exchange.retransmitMs, gap = exchange.retransmitMs; at < exchange.deadlineMs; gap *= 2, at += gap) timers.push(setTimeout(send, at));
      timers.push(setTimeout(() => finish({ kind: "no-answer" }), exchange.deadlineMs));
    });
  });
}

function isMulticast(address: string): boolean {
  const first = Number(address.split(".")[0]);
  return first >= 224 && first <= 239;
}

export interface HttpReply { status: number; body: string }
export type HttpResult = { ok: true; reply: HttpReply } | { ok: false; reason: string };

/**
 * One HTTP/1.1 request, no redirects followed (a 3xx is an answer like any other), the reply
 * read up to `maxBody` bytes (more aborts it) within `timeoutMs` in all.
 */
export function httpRequest(url: URL, options: { method: "GET" | "POST"; headers?: Record<string, string>; body?: string; maxBody: number; timeoutMs: number; localAddress?: string }): Promise<HttpResult> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (result: HttpResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const body = options.body === undefined ? undefined : Buffer.from(options.body, "utf8");
    const request = http().request(url, {
      method: options.method,
      // No pooled connection outlives the request (a daemon must not keep sockets to the router open).
      agent: false,
      // From the Mac's own WAN address, as the UDP requests are: a router maps only to the host that asks (miniupnpd's secure mode).
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      headers: { ...options.headers, ...(body ? { "Content-Length": String(body.length) } : {}), Connection: "close" },
    });
    const timer = setTimeout(() => {
      request.destroy();
      settle({ ok: false, reason: `no complete answer within ${options.timeoutMs} ms` });
    }, options.timeoutMs);
    request.on("error", (error) => settle({ ok: false, reason: error.message }));
    request.on("response", (response) => {
      const declared = Number(response.headers["content-length"]);
      if (Number.isFinite(declared) && declared > options.maxBody) {
        request.destroy();
        settle({ ok: false, reason: `an answer of ${declared} bytes; at most ${options.maxBody}` });
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBody) {
          request.destroy();
          settle({ ok: false, reason: `an answer of more than ${options.maxBody} bytes` });
          return;
        }
        chunks.push(chunk);
      });
      response.on("end", () => settle({ ok: true, reply: { status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") } }));
      response.on("error", (error) => settle({ ok: false, reason: error.message }));
    });
    request.end(body);
  });
}
