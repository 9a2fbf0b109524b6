// Apple's default /etc/pf.conf, verbatim (test/fixtures/macos/pf.conf, see the README there);
// shared by the tests and the e2e harness.
import { readFileSync } from "node:fs";

export const APPLE_PF_CONF = readFileSync(new URL("fixtures/macos/pf.conf", import.meta.url), "utf8");
