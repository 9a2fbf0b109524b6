// What a lima.yaml and $LIMA_HOME/_config/networks.yaml say that LimaWAN needs, as pure
// functions of their text (host/lima.ts reads the files, owner-checked): Lima's own port
// forwards (LIMA-FACTS.md §7), for doctor to compare with LimaWAN's, and one network of
// networks.yaml (§5), for finding a VM's address.
import { isMap, isScalar, isSeq, parse as parseYaml } from "yaml";
import type { PortRange } from "../../compiler/ir.js";
import { readYaml } from "../../compiler/read-yaml.js";

/** A network of networks.yaml (LIMA-FACTS.md §5): `mode` shared|host|bridged|user-v2, and its fields as strings. */
export interface NetworkConfig { mode: string | null; gateway: string | null; netmask: string | null; interface: string | null }

/** Network `name` of networks.yaml's text; null when it is not there, or the text is not YAML. */
export function networkOf(text: string, name: string): NetworkConfig | null {
  let config: { networks?: Record<string, unknown> } | null;
  try {
    config = parseYaml(text, { logLevel: "error" }) as typeof config;
  } catch {
    return null;
  }
  const network = config?.networks?.[name];
  if (!network || typeof network !== "object") return null;
  const field = (key: string) => {
    const value = (network as Record<string, unknown>)[key];
    return typeof value === "string" ? value : null;
  };
  return { mode: field("mode"), gateway: field("gateway"), netmask: field("netmask"), interface: field("interface") };
}

/** One of Lima's own port forwards, as it binds on the Mac. */
export interface LimaPortForward { hostIP: string; hostPort: PortRange; proto: "tcp" | "udp" | "any"; line: number }

/**
 * The TCP/UDP forwards a lima.yaml asks Lima for, with Lima's defaults filled in (LIMA-FACTS.md
 * §7): hostIP 127.0.0.1, host ports those of the guest, every port when none is named, proto
 * `any` (Lima 2.0). Ignored rules and unix sockets bind nothing; malformed entries are Lima's
 * to refuse, so they are left out.
 */
export function limaPortForwards(text: string): LimaPortForward[] {
  const { doc, lineCounter } = readYaml(text);
  const list = doc?.get("portForwards", true);
  if (!list || !isSeq(list)) return [];
  const forwards: LimaPortForward[] = [];
  for (const item of list.items) {
    if (!isMap(item)) continue;
    const field = (key: string) => {
      const node: unknown = item.get(key, true);
      return isScalar(node) ? node.value : isSeq(node) ? node.items.map((n) => (isScalar(n) ? n.value : undefined)) : undefined;
    };
    if (field("ignore") === true || field("guestSocket") !== undefined || field("hostSocket") !== undefined) continue;
    const hostPort = portRange(field("hostPort"), field("hostPortRange")) ?? portRange(field("guestPort"), field("guestPortRange")) ?? { first: 1, last: 65535 };
    const proto = field("proto") ?? "any";
    if (proto !== "tcp" && proto !== "udp" && proto !== "any") continue;
    const hostIP = field("hostIP") ?? "127.0.0.1";
    if (typeof hostIP !== "string") continue;
    forwards.push({ hostIP, hostPort, proto, line: lineCounter.linePos(item.range?.[0] ?? 0).line });
  }
  return forwards;
}

function portRange(port: unknown, range: unknown): PortRange | null {
  const valid = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;
  if (valid(port)) return { first: port, last: port };
  if (Array.isArray(range) && range.length === 2 && valid(range[0]) && valid(range[1]) && range[0] <= range[1]) return { first: range[0], last: range[1] };
  return null;
}
