// What every real-PF test gets: the session run.mjs opened (its own anchors, lo0 client
// addresses, the token file), the product's Pfctl adapter on those anchors, LimaWAN's compiled
// rules for a "VM" at 127.0.0.1 on lo0, TCP and UDP peers, and the recorder of pfctl outputs.
import { spawnSync } from "node:child_process";
import { chownSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import dgram from "node:dgram";
import net from "node:net";
import { emitAnchor, type CompiledAnchor } from "../../compiler/emit-pf.js";
import type { InterfaceName, Ipv4Address } from "../../compiler/ir.js";
import { compileFile } from "../../compiler/pipeline.js";
import { Pfctl } from "../../plugin/host/pfctl.js";
import { createRunner, type CommandResult, type Runner } from "../../plugin/host/run.js";
import type { PfctlFixture } from "../pfctl-fixtures.js";
import { recordToken, type TestPorts } from "./session.mjs";

export interface DarwinSession {
  anchor: string;
  blockAnchor: string;
  aliases: string[];
  /** The main ruleset loaded for the tests (the one found, plus the test points). */
  mainText: string;
  tokenFile: string;
  dir: string;
  /** Where tests take their ports (session.mjs testPorts): below the Mac's client ports. */
  ports: TestPorts;
}

function readSession(): DarwinSession {
  const file = process.env.LIMAWAN_DARWIN_SESSION;
  if (!file) {
    throw new Error("test/darwin runs inside the PF session `npm run test:darwin` opens (test/darwin/run.mjs): run it that way, as root, on a Mac.");
  }
  return JSON.parse(readFileSync(file, "utf8")) as DarwinSession;
}

export const session = readSession();

export const runner: Runner = createRunner({ env: process.env, user: null, limaHome: session.dir, dryRun: false, report: () => undefined });

/** The product's pfctl adapter, on one of the session's anchors (never `limawan`). */
export const pf = new Pfctl(runner, session.anchor);
export const blockPf = new Pfctl(runner, session.blockAnchor);

/** pfctl as such, for what the adapter does not do (`-T delete`, `-T expire`): the user's commands. */
export const pfctl = (args: string[], input?: string): Promise<CommandResult> => runner.run("pfctl", args, input === undefined ? {} : { input });

/** Take a PF reference through the adapter; the session releases it if the test does not. */
export async function enable(): Promise<string> {
  const token = await pf.enable();
  recordToken(session.tokenFile, token);
  return token;
}

// ---------------------------------------------------------------------------------------------
// LimaWAN's rules for a VM on lo0

/**
 * The anchor LimaWAN emits for `annotation` (x-limawan lines), compiled by the product's own
 * pipeline, for a VM at `vm` (default 127.0.0.1) reached on lo0. Users cannot ask for either: the
 * checks on --interface/`on` refuse the loopback and those on --vm-ip a loopback VM address,
 * since PF cannot redirect the Mac's own traffic to a VM (PF-FACTS.md §5). Here they are host
 * facts handed to the emitter, which is what lets one Mac be the client, the "WAN" and the VM:
 * an lo0 rdr to a local listener works (PF-FACTS.md §5, Augani/dory#12).
 *
 * A VM at 127.0.0.1 always gets `allow routed`: without it the anchor would drop everything
 * arriving on lo0 for 127.0.0.1 that no forward redirected — every localhost connection on the
 * Mac while the test runs. routed.test.ts puts its VM on an alias of its own instead.
 */
export function lo0Anchor(annotation: readonly string[], vm = "127.0.0.1"): CompiledAnchor {
  const lines = vm === "127.0.0.1" ? ["allow routed", ...annotation] : annotation;
  const text = `x-limawan: |\n${lines.map((l) => `  ${l}\n`).join("")}`;
  const compiled = compileFile({ vm: "darwin", file: "darwin/lima.yaml", text });
  if (!compiled.spec) throw new Error(`the test annotation does not compile: ${JSON.stringify(compiled.diagnostics)}`);
  const emitted = emitAnchor([{ spec: compiled.spec, address: vm as Ipv4Address }], { defaultInterfaces: ["lo0" as InterfaceName] });
  if (!emitted.ok) throw new Error(JSON.stringify(emitted.diagnostics));
  return emitted;
}

const taken = new Set<number>();

/** Whether a TCP listener and a UDP socket can both have `port` on `host` now. */
async function bindable(port: number, host: string): Promise<boolean> {
  const server = net.createServer();
  const tcp = await new Promise<boolean>((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, host, () => resolve(true));
  });
  if (tcp) await new Promise((resolve) => server.close(resolve));
  if (!tcp) return false;
  const socket = dgram.createSocket("udp4");
  const udp = await new Promise<boolean>((resolve) => {
    socket.once("error", () => resolve(false));
    socket.bind(port, host, () => resolve(true));
  });
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return udp;
}

/**
 * A port nothing uses now on `host` (TCP and UDP), from the session's test range — never
 * one the kernel could give a client as its source port (session.mjs testPorts) — and never
 * one this file took before.
 */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const { low, high } = session.ports;
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (taken.has(port)) continue;
    taken.add(port);
    if (await bindable(port, host)) return port;
  }
  throw new Error(`no free port found in ${low}–${high} after 200 tries`);
}

/** A listener on `host` (the "VM", 127.0.0.1 unless said): answers each line with the peer's address; keeps connections open. */
export interface TcpPeer { port: number; peers: string[]; close(): Promise<void> }

/** A listener on `host`: on `port`, or (0) on a free port of the session's test range. */
export async function tcpListener(port = 0, host = "127.0.0.1"): Promise<TcpPeer> {
  if (port !== 0) return listenOn(port, host);
  for (let attempt = 1; ; attempt++) {
    try {
      return await listenOn(await freePort(host), host);
    } catch (error) {
      // Taken since it was checked: another one.
      if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE" || attempt === 10) throw error;
    }
  }
}

async function listenOn(port: number, host: string): Promise<TcpPeer> {
  const peers: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    peers.push(socket.remoteAddress ?? "?");
    socket.on("data", () => socket.write(`${socket.remoteAddress}\n`));
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    peers,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * Connect from `from` (an lo0 alias) to 127.0.0.1:`port` (or `{ host, port }`), send a line and
 * read the answer: the address the listener saw. Rejects when no answer comes within `timeoutMs`
 * (dropped, refused). `keep` leaves the connection open and returns it.
 */
type Target = number | { host: string; port: number };
export function exchange(from: string, to: Target, timeoutMs?: number): Promise<string>;
export function exchange(from: string, to: Target, timeoutMs: number, keep: true): Promise<{ answer: string; socket: net.Socket }>;
export function exchange(from: string, to: Target, timeoutMs = 3000, keep = false): Promise<string | { answer: string; socket: net.Socket }> {
  const { host, port } = typeof to === "number" ? { host: "127.0.0.1", port: to } : to;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, localAddress: from });
    let answer = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from ${host}:${port} to ${from} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("connect", () => socket.write("ping\n"));
    socket.on("data", (d) => {
      answer += String(d);
      if (!answer.endsWith("\n")) return;
      clearTimeout(timer);
      if (keep) return resolve({ answer: answer.trim(), socket });
      socket.end();
      resolve(answer.trim());
    });
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** A UDP "VM" on 127.0.0.1: answers each datagram with the sender's address. */
export async function udpListener(port: number): Promise<{ peers: string[]; close(): Promise<void> }> {
  const peers: string[] = [];
  const socket = dgram.createSocket("udp4");
  socket.on("message", (_, rinfo) => {
    peers.push(rinfo.address);
    socket.send(rinfo.address, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(port, "127.0.0.1", resolve));
  return { peers, close: () => new Promise((resolve) => socket.close(() => resolve())) };
}

/** Send one datagram from `from` to 127.0.0.1:`port`; resolves with the answer and the port it came from. */
export async function datagram(from: string, port: number, timeoutMs = 3000): Promise<{ answer: string; fromPort: number }> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, from, resolve));
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no UDP answer from 127.0.0.1:${port} to ${from} within ${timeoutMs} ms`)), timeoutMs);
      socket.once("message", (msg, rinfo) => {
        clearTimeout(timer);
        resolve({ answer: String(msg), fromPort: rinfo.port });
      });
      socket.send("ping", port, "127.0.0.1");
    });
  } finally {
    socket.close();
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Recording pfctl's outputs (LIMAWAN_RECORD_FIXTURES=1)

const RECORDED = new URL("../fixtures/macos/recorded/", import.meta.url);
export const recording = process.env.LIMAWAN_RECORD_FIXTURES === "1";

function macOS(): string {
  const version = spawnSync("sw_vers", ["-productVersion"], { encoding: "utf8" }).stdout?.trim() || "unknown";
  const build = spawnSync("sw_vers", ["-buildVersion"], { encoding: "utf8" }).stdout?.trim() || "?";
  return `macOS ${version} (${build}, ${process.arch})`;
}

/**
 * Keep what pfctl printed for `argv` as test/fixtures/macos/recorded/<case>.json, with what the
 * test knew (`expect`) and the state it ran in (`setup`), for the Linux tests to hold the
 * parsers and the stand-in to. Does nothing unless LIMAWAN_RECORD_FIXTURES=1.
 */
export function record(name: string, argv: string[], result: CommandResult, expect: PfctlFixture["expect"], setup: PfctlFixture["setup"] = {}): void {
  if (!recording) return;
  mkdirSync(RECORDED, { recursive: true });
  const fixture: PfctlFixture = {
    case: name,
    argv,
    exitCode: result.exitCode,
    stdout: result.stdout,
    stderr: result.stderr,
    source: `recorded on ${macOS()} by test/darwin (npm run test:darwin with LIMAWAN_RECORD_FIXTURES=1), ${new Date().toISOString().slice(0, 10)}`,
    expect,
    setup,
  };
  const file = new URL(`${name}.json`, RECORDED);
  writeFileSync(file, `${JSON.stringify(fixture, null, 2)}\n`);
  giveToSudoUser(file);
}

/** Written as root under sudo: give it to the user who ran sudo, like the rest of their clone. */
export function giveToSudoUser(file: string | URL): void {
  const uid = Number(process.env.SUDO_UID);
  const gid = Number(process.env.SUDO_GID);
  if (uid > 0 && Number.isInteger(gid)) chownSync(file, uid, gid);
}
