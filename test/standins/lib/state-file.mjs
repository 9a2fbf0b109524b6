// The macOS stand-ins keep their "kernel" state in a JSON file named by an
// environment variable, and log every call beside it as JSON Lines (`<state>.calls`), so tests
// can assert what the host ends up like and how it got there.
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { logCall } from "./call.mjs";

export function stateFileFrom(variable, program) {
  const file = process.env[variable];
  if (!file) {
    process.stderr.write(`${program} (LimaWAN test stand-in): ${variable} is not set; refusing to guess where the state lives\n`);
    process.exit(1);
  }
  return file;
}

export function readState(file, initial) {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    if (error.code === "ENOENT") return structuredClone(initial);
    throw new Error(`cannot read stand-in state ${file}: ${error.message}`);
  }
}

export function writeState(file, state) {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(state, null, 2) + "\n");
  renameSync(temporary, file);
}

/** Log this process's call (lib/call.mjs's logCall) when it exits, with all it printed. */
export function logCalls(file, argv) {
  const captured = { argv, euid: process.geteuid?.() ?? null, stdout: "", stderr: "" };
  for (const stream of ["stdout", "stderr"]) {
    const original = process[stream].write.bind(process[stream]);
    process[stream].write = (chunk, ...rest) => {
      captured[stream] += String(chunk);
      return original(chunk, ...rest);
    };
  }
  process.on("exit", (code) => logCall(file, captured, code));
}

export const isRoot = () => typeof process.geteuid === "function" && process.geteuid() === 0;
