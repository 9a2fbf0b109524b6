// `node alone.mjs PROGRAM ARG…`: a stand-in (PROGRAM/main.mjs) run as its own process, when no
// stand-in server is at hand or the server hands the call back (lib/served.bash). A program
// that streams or waits (limactl) exports runAsProcess, which runs on this process itself.
import { processCall } from "./call.mjs";

const [program, ...argv] = process.argv.slice(2);
const standin = await import(`../${program}/main.mjs`);
if (standin.runAsProcess) {
  await standin.runAsProcess(argv);
} else {
  const call = processCall(argv);
  const code = standin.main(call);
  process.stdout.write(call.stdout);
  process.stderr.write(call.stderr);
  process.exitCode = code;
}
