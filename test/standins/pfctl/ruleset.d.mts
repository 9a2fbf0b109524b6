export interface ParsedTable { name: string; persist: boolean; const: boolean; entries: string[] | null }
export function parseRuleset(
  text: string,
  file?: string,
  grammar?: { rejectScrubAnchorOptions?: boolean },
): { errors: string[]; tables: ParsedTable[]; translation: string[]; filtering: string[]; normalization: string[]; options: string[]; skip: string[] };
export function normalise(rule: string): string;
