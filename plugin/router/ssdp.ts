// SSDP discovery of the router's UPnP Internet Gateway Device (UPnP Device Architecture 1.1
// §1.3): the M-SEARCH text LimaWAN sends, and its reading of the answers. An answer is
// hostile text from anyone on the LAN: bounded in size, read line by line, and its LOCATION
// trusted only when it points at the gateway itself (ROUTER-FACTS.md "Safety").
import type { Ipv4Address } from "../../compiler/ir.js";

export const SSDP_MULTICAST_ADDRESS = "239.255.255.250";
export const SSDP_PORT = 1900;
/** A search answer is a few hundred bytes; more is not one. */
export const MAX_SSDP_REPLY = 4096;

export const IGD_SEARCH_TARGETS = [
  "urn:schemas-upnp-org:device:InternetGatewayDevice:2",
  "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
] as const;
export type IgdSearchTarget = (typeof IGD_SEARCH_TARGETS)[number];

/**
 * One M-SEARCH for `target`. The same text goes to the multicast group and, unicast, to the
 * gateway's port 1900: some routers answer only one of them (tailscale#3197, #3557). HOST names
 * the group either way and MX stays, as peers that work with real routers send it.
 */
export function ssdpSearch(target: IgdSearchTarget, waitSeconds = 2): string {
  return ["M-SEARCH * HTTP/1.1", `HOST: ${SSDP_MULTICAST_ADDRESS}:${SSDP_PORT}`, 'MAN: "ssdp:discover"', `MX: ${waitSeconds}`, `ST: ${target}`, "", ""].join("\r\n");
}

export interface SsdpAnswer {
  /** The search target the device answered for. */
  target: string;
  location: string;
  /** The device's SERVER header (its OS and UPnP stack), at most 200 characters, unescaped: escape before showing. */
  server: string | null;
}

export type SsdpReading = { ok: true; answer: SsdpAnswer } | { ok: false; reason: string };

/** The text of one datagram that came back → an answer to an IGD search, or why it is not one. */
export function readSsdpAnswer(text: string): SsdpReading {
  if (text.length > MAX_SSDP_REPLY) return { ok: false, reason: `${text.length} bytes; an answer has at most ${MAX_SSDP_REPLY}` };
  const [status, ...lines] = text.split(/\r?\n/);
  // UDA 1.1 §1.3.3: "HTTP/1.1 200 OK"; devices of UDA 1.0 may say HTTP/1.0.
  if (!status || !/^HTTP\/1\.[01] 200( |$)/.test(status)) return { ok: false, reason: "not a search answer (HTTP 200)" };
  const headers = new Map<string, string>();
  for (const line of lines) {
    if (line === "") break;
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    // The first of a repeated header counts, so a second LOCATION cannot replace the one checked.
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  const target = headers.get("st");
  const location = headers.get("location");
  if (!target || !(IGD_SEARCH_TARGETS as readonly string[]).includes(target)) return { ok: false, reason: "not an answer for an Internet Gateway Device" };
  if (!location) return { ok: false, reason: "no LOCATION" };
  return { ok: true, answer: { target, location, server: headers.get("server")?.slice(0, 200) ?? null } };
}

export type GatewayUrl = { ok: true; url: URL } | { ok: false; reason: string };

/**
 * A URL a device gave (LOCATION, URLBase, a controlURL resolved against them) → the URL, only
 * if it is plain HTTP to the gateway's own address. Anything else — another host on the LAN,
 * a name that DNS could point anywhere, HTTPS to somewhere, credentials — is refused: a reply
 * from anyone on the LAN must not send LimaWAN's requests elsewhere.
 */
export function gatewayUrl(text: string, gateway: Ipv4Address, base?: URL): GatewayUrl {
  if (text.length > 1024) return { ok: false, reason: "a URL longer than 1024 characters" };
  let url: URL;
  try {
    url = base ? new URL(text, base) : new URL(text);
  } catch {
    return { ok: false, reason: "not a URL" };
  }
  if (url.protocol !== "http:") return { ok: false, reason: `${url.protocol} is not http:` };
  if (url.username || url.password) return { ok: false, reason: "a URL with credentials" };
  // WHATWG URL writes an IPv4 host canonically (0300.0250.1.1 → 192.168.1.1), so this compares addresses.
  if (url.hostname !== gateway) return { ok: false, reason: `not on the gateway's address ${gateway}` };
  return { ok: true, url };
}
