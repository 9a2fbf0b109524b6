// limactl run as a process of its own: the entry of bundled/limactl.mjs (bundle.mjs).
import { main } from "./limactl.mjs";

await main(process.argv.slice(2));
