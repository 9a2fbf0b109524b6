// LimaWAN test stand-in for macOS route(8), read-only: `route [-n] get default|ADDRESS`.
// ROUTE_STANDIN_INTERFACE: the default route's interface (default en0; `none` = no default
// route, as on a Mac without network). ROUTE_STANDIN_GATEWAY: its gateway (default 203.0.113.1,
// on the ifconfig stand-in's en0 subnet). bin/route runs it through the stand-in server or on
// its own (lib/served.bash).
import { Exit, runCall } from "../lib/call.mjs";

/** One route call (lib/call.mjs): prints into `call`, returns the exit code. */
export function main(call) {
  return runCall(call, route);
}

function route(call) {
  const { argv } = call;
  const out = (text) => void (call.stdout += text);
  const err = (text) => void (call.stderr += text);
  const iface = call.env.ROUTE_STANDIN_INTERFACE || "en0";
  const gateway = call.env.ROUTE_STANDIN_GATEWAY || "203.0.113.1";
  const usage = () => {
    err("usage: route [-dnqtv] command [[modifiers] args]\n");
    throw new Exit(64); // EX_USAGE
  };

  let i = 0;
  for (; i < argv.length && /^-[dnqtv]+$/.test(argv[i]); i++);
  const [command, ...args] = argv.slice(i);
  if (command === undefined) usage();

  if (["add", "delete", "change", "flush", "monitor"].includes(command)) {
    if (call.euid !== 0 && command !== "monitor") {
      err("route: must be root to alter routing table\n");
      return 1;
    }
    err(`route (LimaWAN test stand-in): \`route ${command}\` is not modelled; only \`route -n get\` is\n`);
    return 1;
  }
  if (command !== "get") {
    err(`route: bad keyword: ${command}\n`);
    usage();
  }

  const words = args.filter((a) => !/^-(inet|net|host)$/.test(a));
  if (words.length !== 1) usage();
  const destination = words[0];
  const isDefault = destination === "default" || destination === "0.0.0.0" || destination === "0/0";
  if (!isDefault && !/^\d{1,3}(\.\d{1,3}){3}$/.test(destination)) {
    err(`route: bad address: ${destination}\n`);
    return 1;
  }
  if (iface === "none") {
    err("route: writing to routing socket: not in table\n");
    return 1;
  }

  // Every destination goes out through the default route in this model.
  const stats =
    " recvpipe  sendpipe  ssthresh  rtt,msec    rttvar  hopcount      mtu     expire\n" +
    "       0         0         0         0         0         0      1500         0 \n";
  out(`   route to: ${isDefault ? "default" : destination}\ndestination: default\n       mask: default\n    gateway: ${gateway}\n  interface: ${iface}\n      flags: <UP,GATEWAY,DONE,STATIC,PRCLONING,GLOBAL>\n${stats}`);
  return 0;
}
