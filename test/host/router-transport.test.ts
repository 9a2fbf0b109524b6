// The router client's transport (plugin/host/router-transport.ts), on loopback only: UDP with
// retransmission doubling from its first interval and a deadline, replies only from the
// address and port asked, sizes bounded; HTTP bounded in size and time, redirects not followed.
import { createSocket, type Socket } from "node:dgram";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { Ipv4Address } from "../../compiler/ir.js";
import { httpRequest, udpExchange } from "../../plugin/host/router-transport.js";

const LOOPBACK = "127.0.0.1" as Ipv4Address;
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function udpServer(onMessage: (message: Buffer, from: AddressInfo, socket: Socket) => void): Promise<{ port: number; socket: Socket }> {
  const socket = createSocket("udp4");
  socket.on("message", (message, from) => onMessage(message, from, socket));
  await new Promise<void>((resolve) => socket.bind(0, LOOPBACK, resolve));
  cleanups.push(() => socket.close());
  return { port: socket.address().port, socket };
}

const exchange = (port: number, overrides: Partial<Parameters<typeof udpExchange<string>>[0]> = {}) =>
  udpExchange<string>({
    from: LOOPBACK,
    to: [{ address: LOOPBACK, port }],
    payloads: [Uint8Array.of(1, 2, 3)],
    replyFrom: { address: LOOPBACK, port },
    maxReply: 64,
    accept: (bytes) => (bytes[0] === 0xaa ? Buffer.from(bytes).toString("hex") : null),
    retransmitMs: 40,
    deadlineMs: 1000,
    ...overrides,
  });

describe("a UDP exchange", () => {
  it("retransmits after the first interval, then after twice the previous gap, until answered", async () => {
    const started = Date.now();
    const arrivals: number[] = [];
    const { port } = await udpServer((message, from, socket) => {
      arrivals.push(Date.now() - started);
      expect([...message]).toEqual([1, 2, 3]);
      if (arrivals.length === 4) socket.send(Uint8Array.of(0xaa, 1), from.port, from.address);
    });
    expect(await exchange(port)).toEqual({ kind: "answer", value: "aa01" });
    // Sent at 0, 40, 120, 280 ms after the socket is bound (gaps 40, 80, 160), so each arrives
    // no sooner after the exchange began. Timers fire late under load, never early (bar 1 ms of rounding).
    expect(arrivals).toHaveLength(4);
    expect(arrivals[1]).toBeGreaterThanOrEqual(39);
    expect(arrivals[2]).toBeGreaterThanOrEqual(119);
    expect(arrivals[3]).toBeGreaterThanOrEqual(279);
  });

  it("ends with no answer at its deadline, having sent only within it", async () => {
    let sent = 0;
    const { port } = await udpServer(() => sent++);
    const started = Date.now();
    expect(await exchange(port, { deadlineMs: 300 })).toEqual({ kind: "no-answer" });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(295);
    expect(elapsed).toBeLessThan(1000);
    // 0, 40, 120, 280 ms; the next (600) is past the deadline. (Let the last datagram arrive first.)
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sent).toBe(4);
  });

  it("ignores a reply from another port or address, and one larger than allowed, and keeps waiting", async () => {
    const forger = await udpServer(() => undefined);
    const { port } = await udpServer((_message, from, socket) => {
      // A forged answer from another port of the same host, an oversized one, then the real one.
      forger.socket.send(Uint8Array.of(0xaa, 0xff), from.port, from.address);
      socket.send(new Uint8Array(65).fill(0xaa), from.port, from.address);
      setTimeout(() => socket.send(Uint8Array.of(0xaa, 2), from.port, from.address), 30);
    });
    expect(await exchange(port, { retransmitMs: 10_000 })).toEqual({ kind: "answer", value: "aa02" });
  });

  it("keeps waiting past replies the caller does not accept (another exchange's)", async () => {
    const { port } = await udpServer((_message, from, socket) => {
      socket.send(Uint8Array.of(0x01), from.port, from.address);
      setTimeout(() => socket.send(Uint8Array.of(0xaa, 3), from.port, from.address), 20);
    });
    expect(await exchange(port, { retransmitMs: 10_000 })).toEqual({ kind: "answer", value: "aa03" });
  });

  it("accepts any port of the address when told to (SSDP answers come from anywhere on the device)", async () => {
    const other = await udpServer(() => undefined);
    const { port } = await udpServer((_message, from) => other.socket.send(Uint8Array.of(0xaa, 4), from.port, from.address));
    expect(await exchange(port, { replyFrom: { address: LOOPBACK, port: null } })).toEqual({ kind: "answer", value: "aa04" });
  });

  it("reports a local address it cannot send from as an error, sending nothing", async () => {
    // 192.0.2.1 (TEST-NET-1) is on no interface here: bind fails before anything is sent.
    const result = await exchange(9, { from: "192.0.2.1" as Ipv4Address, to: [{ address: LOOPBACK, port: 9 }] });
    expect(result).toMatchObject({ kind: "error", message: expect.stringMatching(/EADDRNOTAVAIL|address not available/i) });
  });
});

describe("an HTTP request to the router", () => {
  async function httpServer(handler: Parameters<typeof createServer>[1]): Promise<URL> {
    const server: Server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
    cleanups.push(() => server.closeAllConnections(), () => server.close());
    return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/desc.xml`);
  }

  it("returns the status and body, sending the headers and body given", async () => {
    const url = await httpServer((request, response) => {
      let body = "";
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => response.end(`${request.method} ${request.headers.soapaction} ${body}`));
    });
    expect(await httpRequest(url, { method: "POST", headers: { SOAPAction: '"x#y"' }, body: "<a/>", maxBody: 100, timeoutMs: 2000 })).toEqual({ ok: true, reply: { status: 200, body: 'POST "x#y" <a/>' } });
  });

  it("refuses a body over the limit, declared or streamed", async () => {
    const declared = await httpServer((_request, response) => response.writeHead(200, { "Content-Length": "5000" }).end("x".repeat(5000)));
    expect(await httpRequest(declared, { method: "GET", maxBody: 1000, timeoutMs: 2000 })).toEqual({ ok: false, reason: "an answer of 5000 bytes; at most 1000" });
    const streamed = await httpServer((_request, response) => {
      response.writeHead(200);
      const timer = setInterval(() => response.write("x".repeat(400)), 5);
      response.on("close", () => clearInterval(timer));
    });
    expect(await httpRequest(streamed, { method: "GET", maxBody: 1000, timeoutMs: 2000 })).toEqual({ ok: false, reason: "an answer of more than 1000 bytes" });
  });

  it("gives up on an answer that does not complete in time", async () => {
    const url = await httpServer((_request, response) => response.writeHead(200).write("<root>"));
    const started = Date.now();
    expect(await httpRequest(url, { method: "GET", maxBody: 1000, timeoutMs: 200 })).toEqual({ ok: false, reason: "no complete answer within 200 ms" });
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("does not follow a redirect", async () => {
    const url = await httpServer((_request, response) => response.writeHead(302, { Location: "http://192.0.2.1/elsewhere" }).end());
    expect(await httpRequest(url, { method: "GET", maxBody: 1000, timeoutMs: 2000 })).toEqual({ ok: true, reply: { status: 302, body: "" } });
  });
});
