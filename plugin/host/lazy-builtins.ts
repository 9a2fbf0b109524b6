// Node built-ins loaded on first use: node:crypto costs ~4 ms to load, and `status`, which hashes
// nothing, would pay it on every run (issue 9's start-up targets). process.getBuiltinModule is
// synchronous (Node 20.16+ and 22.3+; package.json's engines ask for 20.17+ or 22.3+).
export const crypto = (): typeof import("node:crypto") => process.getBuiltinModule("node:crypto");
// The router client's sockets: only `up`, `down`, the watcher and diagnose talk to a router.
export const dgram = (): typeof import("node:dgram") => process.getBuiltinModule("node:dgram");
export const http = (): typeof import("node:http") => process.getBuiltinModule("node:http");
