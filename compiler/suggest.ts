// "Did you mean" for misspelt keywords and service names.

/** The closest candidate within a small edit distance, or null. */
export function closest(word: string, candidates: readonly string[]): string | null {
  const needle = word.toLowerCase();
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.floor(needle.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(needle, candidate, bestDistance);
    // Replacing every character of either word is no suggestion (`->` is not a typo of `on`).
    if (d < bestDistance && d < needle.length && d < candidate.length) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

export function didYouMean(word: string, candidates: readonly string[]): string {
  const match = closest(word, candidates);
  return match ? `Did you mean \`${match}\`?` : `Expected one of: ${candidates.join(", ")}.`;
}

/** Levenshtein distance, giving up (returning `limit`) once it cannot be below `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin >= limit) return limit;
    previous = current;
  }
  return previous[b.length]!;
}
