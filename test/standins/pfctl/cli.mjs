// pfctl as its own process: bin/pfctl runs this when no stand-in server is at hand.
import { processCall } from "../lib/call.mjs";
import { main } from "./main.mjs";

const call = processCall();
const code = main(call);
process.stdout.write(call.stdout);
process.stderr.write(call.stderr);
process.exitCode = code;
