// `node alone.mjs PROGRAM ARG…`: a stand-in (PROGRAM/main.mjs) run as its own process, when no
// stand-in server is at hand (lib/served.bash).
import { processCall } from "./call.mjs";

const [program, ...argv] = process.argv.slice(2);
const { main } = await import(`../${program}/main.mjs`);
const call = processCall(argv);
const code = main(call);
process.stdout.write(call.stdout);
process.stderr.write(call.stderr);
process.exitCode = code;
