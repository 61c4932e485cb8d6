// The one byte range of an HTTP Range header (RFC 9110, section 14) that a blob read honours: a
// reader that finds a bad block fetches just that block again from another holder. A single range
// is all such a reader asks for; anything else is ignored and the whole blob sent, as the RFC lets a
// server do, so a client that sends what we do not parse still gets correct bytes.

/** What to send of a blob of `size` bytes: all of it, bytes `start` to `end` inclusive, or a 416. */
export type RangeAnswer =
  { kind: 'whole' } | { kind: 'part'; start: number; end: number } | { kind: 'unsatisfiable' }

const SINGLE = /^bytes=[ \t]*(\d*)-(\d*)[ \t]*$/i

export function byteRange(header: string | undefined, size: number): RangeAnswer {
  const whole = { kind: 'whole' } as const
  const match = header === undefined ? null : SINGLE.exec(header)
  if (!match) return whole
  const [, first = '', last = ''] = match
  if (first === '' && last === '') return whole
  if (first === '') {
    // bytes=-n: the last n bytes. None of them (n = 0) is nothing to send; an empty blob's "last n"
    // is satisfiable but has no byte to name in a content-range, so it goes whole (and empty).
    const suffix = Number(last)
    if (suffix === 0) return { kind: 'unsatisfiable' }
    if (size === 0) return whole
    return { kind: 'part', start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(first)
  const end = last === '' ? Infinity : Number(last)
  // A range that ends before it starts is invalid, not unsatisfiable: ignored like any other.
  if (end < start) return whole
  if (start >= size) return { kind: 'unsatisfiable' }
  return { kind: 'part', start, end: Math.min(end, size - 1) }
}
