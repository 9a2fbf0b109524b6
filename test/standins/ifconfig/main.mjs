// LimaWAN test stand-in for macOS ifconfig(8): `ifconfig -l [-u|-d]`, `ifconfig IF`,
// `ifconfig -a`. IFCONFIG_STANDIN_INTERFACES: the interfaces (default "lo0 en0 en1 bridge100").
// IFCONFIG_STANDIN_ADDRESSES: `IF=ADDR/PREFIX,…` (default en0=203.0.113.10/24,
// bridge100=192.168.105.1/24); an interface without an address reports `status: inactive`.
// IFCONFIG_STANDIN_MEMBERS: `BRIDGE=IF+IF,…` (default: each bridge holds vmenet0 alone; Internet
// Sharing to en1 would make it `bridge100=vmenet0+en1`).
// With IFCONFIG_STANDIN_STATE (a JSON file) it also takes lo0 aliases, as the darwin suite adds
// them: `ifconfig lo0 alias ADDR [up]`, `ifconfig lo0 -alias ADDR` (root only); otherwise it
// only reads. bin/ifconfig runs it through the stand-in server or on its own (lib/served.bash).
import { Exit, logCall, runCall } from "../lib/call.mjs";
import { readState, writeState } from "../lib/state-file.mjs";

/** One ifconfig call (lib/call.mjs): prints into `call`, logs it beside the state, returns the exit code. */
export function main(call) {
  const stateFile = call.env.IFCONFIG_STANDIN_STATE;
  const code = runCall(call, (c) => ifconfig(c, stateFile));
  if (stateFile) logCall(stateFile, call, code);
  return code;
}

function model(env, stateFile) {
  const aliases = stateFile ? readState(stateFile, { lo0: [] }).lo0 : [];
  const names = (env.IFCONFIG_STANDIN_INTERFACES || "lo0 en0 en1 bridge100").split(/\s+/).filter(Boolean);
  const addresses = new Map(
    (env.IFCONFIG_STANDIN_ADDRESSES || "en0=203.0.113.10/24,bridge100=192.168.105.1/24")
      .split(",")
      .filter(Boolean)
      .map((entry) => {
        const [name, cidr] = entry.split("=");
        const [address, prefix] = cidr.split("/");
        return [name, { address, prefix: Number(prefix ?? 24) }];
      }),
  );
  const members = new Map(
    (env.IFCONFIG_STANDIN_MEMBERS || "")
      .split(",")
      .filter(Boolean)
      .map((entry) => {
        const [bridge, list] = entry.split("=");
        return [bridge, list.split("+").filter(Boolean)];
      }),
  );
  return { aliases, names, addresses, members };
}

function ifconfig(call, stateFile) {
  const { argv } = call;
  const out = (text) => void (call.stdout += text);
  const err = (text) => void (call.stderr += text);
  const m = model(call.env, stateFile);
  const { aliases, names, addresses } = m;
  if (argv[0] === "-l") {
    const rest = argv.slice(1);
    const up = rest.includes("-u");
    const down = rest.includes("-d");
    const listed = names.filter((n) => (!up || addresses.has(n) || n === "lo0") && (!down || (!addresses.has(n) && n !== "lo0")));
    out(listed.join(" ") + "\n");
    return 0;
  }
  if (argv[0] === "-a" && argv.length === 1) {
    out(names.map((n, i) => block(m, n, i)).join(""));
    return 0;
  }
  if (argv.length === 0) {
    err("usage: ifconfig [-C] [-L] interface address_family [address [dest_address]]\n");
    return 1;
  }
  const name = argv[0];
  const index = names.indexOf(name);
  if (index < 0) {
    err(`ifconfig: interface ${name} does not exist\n`);
    return 1;
  }
  if (stateFile && name === "lo0" && (argv[1] === "alias" || argv[1] === "-alias") && /^\d+\.\d+\.\d+\.\d+$/.test(argv[2] ?? "") && argv.length <= (argv[1] === "alias" ? 4 : 3)) {
    if (call.euid !== 0) {
      err("ifconfig: ioctl (SIOCAIFADDR): Operation not permitted\n");
      return 1;
    }
    const has = aliases.includes(argv[2]);
    if (argv[1] === "-alias" && !has) {
      err("ifconfig: ioctl (SIOCDIFADDR): Can't assign requested address\n");
      return 1;
    }
    writeState(stateFile, { lo0: argv[1] === "alias" ? [...new Set([...aliases, argv[2]])] : aliases.filter((a) => a !== argv[2]) });
    return 0;
  }
  if (argv.length > 1 && !(argv.length === 2 && argv[1] === "inet")) {
    err(`ifconfig (LimaWAN test stand-in): changing ${name} is not modelled; only reading is\n`);
    return 1;
  }
  out(block(m, name, index));
  return 0;
}

function netmaskHex(prefix) {
  return "0x" + ((prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0).toString(16).padStart(8, "0"));
}
function broadcast(address, prefix) {
  const n = address.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
  const host = 2 ** (32 - prefix) - 1;
  const b = (n - (n % (host + 1))) + host;
  return [24, 16, 8, 0].map((s) => Math.floor(b / 2 ** s) % 256).join(".");
}
function mac(name) {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return ["3c", "22", "fb", ((h >>> 16) & 0xff).toString(16).padStart(2, "0"), ((h >>> 8) & 0xff).toString(16).padStart(2, "0"), (h & 0xff).toString(16).padStart(2, "0")].join(":");
}

function block(model, name, index) {
  const { aliases, addresses, members } = model;
  if (name === "lo0") {
    return (
      "lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> mtu 16384\n\toptions=1203<RXCSUM,TXCSUM,TXSTATUS,SW_TIMESTAMP>\n" +
      "\tinet 127.0.0.1 netmask 0xff000000\n" +
      aliases.map((a) => `\tinet ${a} netmask 0xff000000\n`).join("") +
      "\tinet6 ::1 prefixlen 128 \n\tinet6 fe80::1%lo0 prefixlen 64 scopeid 0x1 \n\tnd6 options=201<PERFORMNUD,DAD>\n"
    );
  }
  if (/^(gif|stf)\d+$/.test(name)) {
    return name.startsWith("gif") ? `${name}: flags=8010<POINTOPOINT,MULTICAST> mtu 1280\n` : `${name}: flags=0<> mtu 1280\n`;
  }
  const a = addresses.get(name);
  const inet = a ? `\tinet ${a.address} netmask ${netmaskHex(a.prefix)} broadcast ${broadcast(a.address, a.prefix)}\n` : "";
  const scope = `0x${(index + 1).toString(16)}`;
  if (name.startsWith("bridge")) {
    return (
      `${name}: flags=8a63<UP,BROADCAST,SMART,RUNNING,ALLMULTI,SIMPLEX,MULTICAST> mtu 1500\n\toptions=63<RXCSUM,TXCSUM,TSO4,TSO6>\n\tether ${mac(name)}\n` +
      inet +
      `\tinet6 fe80::3e22:fbff:fe00:${(index + 1).toString(16)}%${name} prefixlen 64 scopeid ${scope} \n\tConfiguration:\n\t\tid 0:0:0:0:0:0 priority 0 hellotime 0 fwddelay 0\n\t\tmaxage 0 holdcnt 0 proto stp maxaddr 100 timeout 1200\n\t\troot id 0:0:0:0:0:0 priority 0 ifcost 0 port 0\n\t\tipfilter disabled flags 0x0\n` +
      (members.get(name) ?? ["vmenet0"]).map((m, i) => `\tmember: ${m} flags=3<LEARNING,DISCOVER>\n\t        ifmaxaddr 0 port ${20 + i} priority 0 path cost 0\n`).join("") +
      `\tnd6 options=201<PERFORMNUD,DAD>\n` +
      `\tmedia: autoselect\n\tstatus: ${a ? "active" : "inactive"}\n`
    );
  }
  return (
    `${name}: flags=8863<UP,BROADCAST,SMART,RUNNING,SIMPLEX,MULTICAST> mtu 1500\n\toptions=6460<TSO4,TSO6,CHANNEL_IO,PARTIAL_CSUM,ZEROINVERT_CSUM>\n\tether ${mac(name)}\n` +
    (a ? `\tinet6 fe80::1c8a:2b3c:4d5e:${(index + 1).toString(16)}%${name} prefixlen 64 secured scopeid ${scope} \n` : "") +
    inet +
    `\tnd6 options=201<PERFORMNUD,DAD>\n\tmedia: autoselect${a ? "" : " (<unknown type>)"}\n\tstatus: ${a ? "active" : "inactive"}\n`
  );
}
