// plugin/README.md is the map a newcomer reads to find a behaviour by its file name (issue 21):
// every module is on it, and every module it names exists.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const PLUGIN = fileURLToPath(new URL("../../plugin/", import.meta.url));
const map = readFileSync(path.join(PLUGIN, "README.md"), "utf8");
const modules = (readdirSync(PLUGIN, { recursive: true }) as string[]).filter((file) => /\.c?ts$/.test(file) && !file.endsWith(".d.ts"));

/** The commands (command.ts): `commands/<name>.ts` is on the map as "one file per command". */
const commands = new Set([...readFileSync(path.join(PLUGIN, "command.ts"), "utf8").matchAll(/^ {4}name: "([a-z]+)",$/gm)].map((m) => m[1]));

it("names every module of plugin/", () => {
  expect(modules.length).toBeGreaterThan(50);
  expect(commands.size).toBeGreaterThan(15);
  const oneFilePerCommand = (file: string) => path.dirname(file) === "commands" && commands.has(path.basename(file, ".ts"));
  expect(modules.filter((file) => !oneFilePerCommand(file) && !map.includes(path.basename(file))).sort()).toEqual([]);
});

it("names no module that does not exist", () => {
  const names = new Set(modules.map((file) => path.basename(file)));
  const named = [...map.matchAll(/`([\w./-]+\.c?ts)`/g)].map((m) => path.basename(m[1]!));
  expect(named.length).toBeGreaterThan(50);
  expect(named.filter((name) => !names.has(name))).toEqual([]);
});
