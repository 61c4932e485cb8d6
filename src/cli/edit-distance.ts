// The names nearest to what was typed, by Levenshtein distance, for did-you-mean hints.

/** Edits (insert, delete, substitute) turning `a` into `b`. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitute = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)
      row.push(Math.min((previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, substitute))
    }
    previous = row
  }
  return previous[b.length] ?? 0
}

/**
 * The candidates nearest to `typed` (all of them when several are as near), within a third of their
 * length or one edit. A name of one or two letters matches only with a letter added or dropped at
 * its end (`lsx`, `l` for `ls`): one edit from `cp` is `up`, which is no slip of the fingers.
 */
export function closest(candidates: readonly string[], typed: string): string[] {
  const near = candidates
    .map((name) => ({ name, distance: editDistance(typed, name) }))
    .filter(({ name, distance }) => distance > 0 && distance <= allowed(name, typed))
  const best = Math.min(...near.map((n) => n.distance))
  return near.filter((n) => n.distance === best).map((n) => n.name)
}

function allowed(name: string, typed: string): number {
  if (name.length >= 3) return Math.max(1, Math.floor(name.length / 3))
  return typed.startsWith(name) || name.startsWith(typed) ? 1 : 0
}
