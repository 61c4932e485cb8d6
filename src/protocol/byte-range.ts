// HTTP Range requests (RFC 9110 §14) for one range of bytes: `bytes=a-b`, `bytes=a-` and the
// suffix `bytes=-n`. Several ranges, or a header that does not parse, are ignored (the whole file
// is served, as the RFC allows); a range that starts past the end is unsatisfiable (416).

import type { ByteRange } from '../streams/block-check.ts'
import { DfsError } from './errors.ts'

// The unit is case-insensitive (RFC 9110 §14.1); blanks around the range are allowed.
const SINGLE = /^bytes=[ \t]*(\d*)-(\d*)[ \t]*$/i

/**
 * The range a `Range` header asks for in a file of `size` bytes, or undefined for the whole file.
 * Throws DFS_BAD_RANGE when it cannot be satisfied.
 */
export function requestedRange(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined) return undefined
  const match = SINGLE.exec(header)
  if (!match) return undefined
  const [, first = '', last = ''] = match
  if (first === '' && last === '') return undefined
  let range: ByteRange
  if (first === '') {
    // The last n bytes: all of them if the file is shorter; none is unsatisfiable.
    const n = Number(last)
    if (n === 0) throw unsatisfiable(header, size)
    // An empty file's last n bytes are all of it, and a 206 could name none of them: send it whole.
    if (size === 0) return undefined
    range = { start: Math.max(0, size - n), end: size }
  } else {
    const start = Number(first)
    const end = last === '' ? size : Math.min(size, Number(last) + 1)
    if (last !== '' && Number(last) < start) return undefined
    range = { start, end }
  }
  if (range.start >= size) throw unsatisfiable(header, size)
  return range
}

/** The value of a 206 answer's Content-Range header. */
export function contentRange(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end - 1}/${size}`
}

/** Parses `dfs get --range`'s value: the same forms as the header, without `bytes=`. */
export function rangeFlag(value: string): string {
  if (!/^(\d+-\d*|-\d+)$/.test(value))
    throw new DfsError('DFS_USAGE', `--range must be START-END, START- or -COUNT (bytes), not ${value}`)
  return `bytes=${value}`
}

/** DFS_BAD_RANGE, with the file's size for the 416 answer's `Content-Range: bytes *\/size`. */
export class UnsatisfiableRange extends DfsError {
  readonly size: number

  constructor(header: string, size: number) {
    super('DFS_BAD_RANGE', `${header} is outside the file's ${size} bytes`)
    this.size = size
  }
}

function unsatisfiable(header: string, size: number): DfsError {
  return new UnsatisfiableRange(header, size)
}
