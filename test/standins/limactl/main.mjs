// limactl as lib/served.bash runs it: `main` answers one call in the stand-in server (the short
// commands; the others are handed back), `runAsProcess` is the whole limactl in a process of its
// own (lib/alone.mjs). Both are ../lib/limactl.mjs.
export { servedMain as main, main as runAsProcess } from "../lib/limactl.mjs";
