/** "Did you mean" helpers for diagnostics about user files (rule files, scenarios, policy tests). */

/** Levenshtein edit distance (insert, delete, substitute; adjacent swap counts as one). */
export function editDistance(a: string, b: string): number {
  const n = a.length;
  const m = b.length;
  if (n === 0) return m;
  if (m === 0) return n;
  // Damerau (optimal string alignment) so "dprot" -> "dport" is one edit.
  const d: number[][] = [];
  for (let i = 0; i <= n; i++) {
    d.push(new Array<number>(m + 1).fill(0));
    d[i][0] = i;
  }
  for (let j = 0; j <= m; j++) d[0][j] = j;
  for (let i = 1; i <= n; i++) {
    for (let j = 1; j <= m; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2][j - 2] + 1);
      d[i][j] = v;
    }
  }
  return d[n][m];
}

/**
 * The closest candidate to `word`, if it is close enough to be a plausible
 * typo (distance <= 1 for short words, <= 2 for words of 5+ characters, and
 * less than the word's length), else null.
 */
export function suggest(word: string, candidates: readonly string[]): string | null {
  const w = word.toLowerCase();
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  if (best === null) return null;
  const limit = w.length >= 5 ? 2 : 1;
  if (bestD > limit || bestD >= w.length) return null;
  return best;
}

/** '; did you mean "x"?' or ''. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const s = suggest(word, candidates);
  return s === null ? '' : `; did you mean "${s}"?`;
}
