// pfctl outputs from macOS, one JSON file per case: hand-made from the formats in
// docs/PFCTL-OUTPUT.md (test/fixtures/macos/handmade/) and recorded on a real Mac by the darwin
// suite (test/fixtures/macos/recorded/, `LIMAWAN_RECORD_FIXTURES=1 npm run test:darwin`).
// Shared by the parser tests (test/host/pfctl-formats.test.ts) and the stand-in's
// (test/standins/pfctl-fidelity.test.ts).
import { existsSync, readdirSync, readFileSync } from "node:fs";

export interface PfctlFixture {
  case: string;
  /** pfctl's arguments (the anchor may be a test anchor in recordings). */
  argv: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Where the text comes from: the sources of a hand-made file, the Mac of a recording. */
  source: string;
  /** What the parsers must read from it. */
  expect: {
    token?: string;
    tokens?: string[];
    outcome?: "released" | "unknown-token" | "not-enabled" | "failed";
    labels?: Record<string, { evaluations?: number; packets?: number; bytes?: number; states: number | null }>;
    anchorPoints?: { anchor: string; kind: "rdr-anchor" | "anchor"; present: boolean };
    tables?: string[];
    entries?: string[];
    missing?: boolean;
    /** States per label, from `-v -s rules`. */
    states?: Record<string, number>;
    /** pfctl says the anchor does not exist (DIOCGETRULES). */
    missingAnchor?: boolean;
  };
  /** The PF state the command ran in, enough for the stand-in to be put in the same one. */
  setup?: {
    /** "apple+limawan": Apple's pf.conf with LimaWAN's anchor points; else the main ruleset text loaded. */
    main?: string;
    /** The text loaded into the anchor argv names. */
    anchorText?: string;
    /** Table entries present before the command. */
    tables?: Record<string, string[]>;
    /** PF enable references held before the command. */
    references?: number;
  };
}

export type FixtureOrigin = "handmade" | "recorded";

const root = new URL("fixtures/macos/", import.meta.url);

export function pfctlFixtures(origin: FixtureOrigin): PfctlFixture[] {
  const dir = new URL(`${origin}/`, root);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => JSON.parse(readFileSync(new URL(f, dir), "utf8")) as PfctlFixture);
}
