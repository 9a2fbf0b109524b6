// The formats diagnose reads: iproute2's JSON, ss's columns (inside the guest) and macOS
// ifconfig (on the Mac), each parsed in its adapter.
import { describe, expect, it } from "vitest";
import { parseArpEntry } from "../../plugin/host/arp.js";
import { parseBridgeMembers, parseIfconfig, parseInterfaces } from "../../plugin/host/ifconfig.js";
import { parseIpAddrsJson, parseRoutesJson, parseSsListening } from "../../plugin/host/lima-guest.js";

describe("inside the guest", () => {
  it("ip -4 -j addr: every inet address; none for `[]` or the `[{}]` older iproute2 prints", () => {
    expect(parseIpAddrsJson('[{"ifindex":3,"ifname":"lima0","addr_info":[{"family":"inet","local":"192.168.105.2","prefixlen":24},{"family":"inet","local":"192.168.105.40","prefixlen":24}]}]')).toEqual(["192.168.105.2", "192.168.105.40"]);
    expect(parseIpAddrsJson("[]")).toEqual([]);
    expect(parseIpAddrsJson("[{}]")).toEqual([]);
    expect(() => parseIpAddrsJson("Device \"lima0\" does not exist.")).toThrow(/not JSON/);
  });

  it("ip -4 -j route show default: the lowest metric first, whatever the order printed", () => {
    const stdout = JSON.stringify([
      { dst: "default", gateway: "192.168.5.2", dev: "eth0", protocol: "dhcp", prefsrc: "192.168.5.15", metric: 200, flags: [] },
      { dst: "default", gateway: "192.168.105.1", dev: "lima0", protocol: "dhcp", metric: 100, flags: [] },
      { dst: "10.0.0.0/8", dev: "eth0", flags: [] },
    ]);
    expect(parseRoutesJson(stdout)).toEqual([
      { dev: "lima0", gateway: "192.168.105.1", metric: 100 },
      { dev: "eth0", gateway: "192.168.5.2", metric: 200 },
    ]);
  });

  it("ss -Hltun: protocol, port, and the local address as facts (family, wildcard, loopback, host) beside it as written", () => {
    const stdout = [
      "udp   UNCONN 0      0      127.0.0.53%lo:53         0.0.0.0:*          ",
      "tcp   LISTEN 0      4096         0.0.0.0:22         0.0.0.0:*          ",
      "tcp   LISTEN 0      511             [::]:80            [::]:*          ",
      "tcp   LISTEN 0      4096               *:8443             *:*    users:((\"caddy\",pid=812,fd=7))",
      "tcp   LISTEN 0      4096           [::1]:631           [::]:*          ",
      "tcp   LISTEN 0      4096  [fe80::1%eth0]:7000          [::]:*          ",
      "udp   UNCONN 0      0      192.168.105.2:53         0.0.0.0:*          ",
      "",
    ].join("\n");
    expect(parseSsListening(stdout)).toEqual([
      { protocol: "udp", family: "ipv4", wildcard: false, loopback: true, host: "127.0.0.53", address: "127.0.0.53%lo", port: 53 },
      { protocol: "tcp", family: "ipv4", wildcard: true, loopback: false, host: "0.0.0.0", address: "0.0.0.0", port: 22 },
      { protocol: "tcp", family: "ipv6", wildcard: true, loopback: false, host: "::", address: "[::]", port: 80 },
      { protocol: "tcp", family: "any", wildcard: true, loopback: false, host: "*", address: "*", port: 8443 },
      { protocol: "tcp", family: "ipv6", wildcard: false, loopback: true, host: "::1", address: "[::1]", port: 631 },
      { protocol: "tcp", family: "ipv6", wildcard: false, loopback: false, host: "fe80::1", address: "[fe80::1%eth0]", port: 7000 },
      { protocol: "udp", family: "ipv4", wildcard: false, loopback: false, host: "192.168.105.2", address: "192.168.105.2", port: 53 },
    ]);
  });
});

describe("on the Mac", () => {
  it("ifconfig IF: UP, a link (RUNNING and status: active) and the inet addresses", () => {
    const en0 = "en0: flags=8863<UP,BROADCAST,SMART,RUNNING,SIMPLEX,MULTICAST> mtu 1500\n\toptions=6460<TSO4,TSO6,CHANNEL_IO>\n\tether 3c:22:fb:00:00:01\n\tinet6 fe80::1%en0 prefixlen 64 secured scopeid 0x6 \n\tinet 203.0.113.10 netmask 0xffffff00 broadcast 203.0.113.255\n\tnd6 options=201<PERFORMNUD,DAD>\n\tmedia: autoselect\n\tstatus: active\n";
    expect(parseIfconfig(en0)).toEqual({ name: "en0", up: true, active: true, ipv4: ["203.0.113.10"] });
    const en1 = "en1: flags=8863<UP,BROADCAST,SMART,RUNNING,SIMPLEX,MULTICAST> mtu 1500\n\tether 3c:22:fb:00:00:02\n\tmedia: autoselect (<unknown type>)\n\tstatus: inactive\n";
    expect(parseIfconfig(en1)).toEqual({ name: "en1", up: true, active: false, ipv4: [] });
    expect(parseIfconfig("utun3: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST> mtu 1380\n\tinet 100.72.0.5 --> 100.72.0.5 netmask 0xffffffff\n")).toEqual({ name: "utun3", up: true, active: true, ipv4: ["100.72.0.5"] });
    expect(parseIfconfig("ifconfig: interface en9 does not exist")).toBeNull();
  });

  it("ifconfig -a: each bridge's members (bridge100 with Internet Sharing to en1), and no other interface's", () => {
    const all = [
      "lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> mtu 16384\n\tinet 127.0.0.1 netmask 0xff000000\n",
      "en0: flags=8863<UP,BROADCAST,SMART,RUNNING,SIMPLEX,MULTICAST> mtu 1500\n\tinet 203.0.113.10 netmask 0xffffff00 broadcast 203.0.113.255\n\tstatus: active\n",
      "bridge0: flags=8863<UP,BROADCAST,SMART,RUNNING,SIMPLEX,MULTICAST> mtu 1500\n\tConfiguration:\n\t\tid 0:0:0:0:0:0 priority 0 hellotime 0 fwddelay 0\n\tmember: en2 flags=3<LEARNING,DISCOVER>\n\t        ifmaxaddr 0 port 8 priority 0 path cost 0\n\tmember: en3 flags=3<LEARNING,DISCOVER>\n\t        ifmaxaddr 0 port 9 priority 0 path cost 0\n\tstatus: inactive\n",
      "bridge100: flags=8a63<UP,BROADCAST,SMART,RUNNING,ALLMULTI,SIMPLEX,MULTICAST> mtu 1500\n\tinet 192.168.105.1 netmask 0xffffff00 broadcast 192.168.105.255\n\tmember: vmenet0 flags=3<LEARNING,DISCOVER>\n\t        ifmaxaddr 0 port 20 priority 0 path cost 0\n\tmember: en1 flags=3<LEARNING,DISCOVER>\n\t        ifmaxaddr 0 port 7 priority 0 path cost 0\n\tstatus: active\n",
      "utun0: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST> mtu 1380\n",
    ].join("");
    expect(parseBridgeMembers(all)).toEqual(new Map([["bridge0", ["en2", "en3"]], ["bridge100", ["vmenet0", "en1"]]]));
    expect(parseBridgeMembers(all.replace(/\tmember: .*\n\t +ifmaxaddr.*\n/g, ""))).toEqual(new Map([["bridge0", []], ["bridge100", []]]));
  });
});

describe("the Mac's own view of its networks: ifconfig -a and arp -n", () => {
  it("reads every interface's IPv4 addresses with their prefixes from ifconfig -a", () => {
    const stdout = [
      "lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> mtu 16384",
      "\tinet 127.0.0.1 netmask 0xff000000",
      "\tinet6 ::1 prefixlen 128 ",
      "en0: flags=8863<UP,BROADCAST,SMART,RUNNING,SIMPLEX,MULTICAST> mtu 1500",
      "\tether 3c:22:fb:0:0:1",
      "\tinet 192.168.1.20 netmask 0xffffff00 broadcast 192.168.1.255",
      "bridge100: flags=8a63<UP,BROADCAST,SMART,RUNNING,ALLMULTI,SIMPLEX,MULTICAST> mtu 1500",
      "\tinet 192.168.105.1 netmask 0xffffff00 broadcast 192.168.105.255",
      "\tinet 10.9.0.1 netmask 0xfffffffc broadcast 10.9.0.3",
      "\tmember: vmenet0 flags=3<LEARNING,DISCOVER>",
      "utun0: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST> mtu 1380",
    ].join("\n");
    expect(parseInterfaces(stdout)).toEqual([
      { name: "lo0", ipv4: [{ address: "127.0.0.1", prefix: 8 }] },
      { name: "en0", ipv4: [{ address: "192.168.1.20", prefix: 24 }] },
      { name: "bridge100", ipv4: [{ address: "192.168.105.1", prefix: 24 }, { address: "10.9.0.1", prefix: 30 }] },
      { name: "utun0", ipv4: [] },
    ]);
  });

  it("reads a complete ARP entry's MAC (octets without leading zeros), and nothing from an incomplete one", () => {
    expect(parseArpEntry("? (192.168.1.50) at 52:55:55:a:b:c on en0 ifscope [ethernet]\n", "192.168.1.50")).toBe("52:55:55:a:b:c");
    expect(parseArpEntry("? (192.168.1.51) at (incomplete) on en0 ifscope [ethernet]\n", "192.168.1.51")).toBeNull();
    expect(parseArpEntry("? (192.168.1.5) at 52:55:55:a:b:c on en0 ifscope [ethernet]\n", "192.168.1.50")).toBeNull();
  });
});
