// LimaWAN test stand-in for macOS arp(8), reading only: `arp -n ADDRESS` and `arp -a [-n]`.
// Formats as Apple's network_cmds arp.c prints them (FreeBSD usr.sbin/arp/arp.c): `? (A) at
// 52:55:55:a:b:c on en0 ifscope [ethernet]` (octets without leading zeros), `A (A) -- no entry`
// with exit 1. The table is ARP_STANDIN_STATE (JSON `{ "ADDRESS": "MAC" }`; missing = empty),
// which a test fills as the Mac's kernel would after talking to a host (harness `setArp`).
// bin/arp runs it through the stand-in server or on its own (lib/served.bash).
import { Exit, logCall, runCall } from "../lib/call.mjs";
import { readState } from "../lib/state-file.mjs";

/** One arp call (lib/call.mjs): prints into `call`, logs it beside the table, returns the exit code. */
export function main(call) {
  const stateFile = call.env.ARP_STANDIN_STATE;
  const code = runCall(call, (c) => arp(c, stateFile ? readState(stateFile, {}) : {}));
  if (stateFile) logCall(stateFile, call, code);
  return code;
}

function arp(call, table) {
  const { argv } = call;
  const out = (text) => void (call.stdout += text);
  const err = (text) => void (call.stderr += text);
  const mac = (text) => text.toLowerCase().split(":").map((o) => Number.parseInt(o, 16).toString(16)).join(":");
  const entry = (address) => `? (${address}) at ${mac(table[address])} on en0 ifscope [ethernet]\n`;
  const usage = () => {
    err("usage: arp [-n] [-i interface] hostname\n       arp [-n] [-i interface] [-l] -a\n");
    throw new Exit(1);
  };

  const numeric = argv.includes("-n");
  const rest = argv.filter((a) => a !== "-n");
  if (rest.length === 1 && rest[0] === "-a") {
    out(Object.keys(table).map(entry).join(""));
    return 0;
  }
  if (rest.length !== 1 || rest[0].startsWith("-")) usage();
  const address = rest[0];
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(address)) {
    // Without -n arp would resolve a name; the stand-in knows none.
    err(`arp: ${address}: ${numeric ? "bad address" : "Unknown host"}\n`);
    return 1;
  }
  if (!(address in table)) {
    out(`${address} (${address}) -- no entry\n`);
    return 1;
  }
  out(entry(address));
  return 0;
}
