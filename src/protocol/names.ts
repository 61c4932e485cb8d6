// File names in the dfs namespace: relative, '/'-separated, normalised, bounded. A name is only ever a
// key in the directory's table (file servers store blobs by hash), but we still refuse anything that
// could read as a path outside a data root, so no later change can turn a name into a traversal.

import { DfsError } from './errors.ts'

export const MAX_NAME_BYTES = 1024

// C0 and C1 control characters, DEL, and the Unicode line/paragraph separators.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/
// Characters that do not show, or reorder what does: bidi controls (U+202A-202E, U+2066-2069 and the
// marks), zero-width and every other default-ignorable code point. A name with one would look like
// another name; `ls` could not tell them apart.
const INVISIBLE = /[\p{Bidi_Control}\p{Default_Ignorable_Code_Point}]/u

/** Returns the canonical form of a user-supplied name, or throws DFS_BAD_NAME saying why not. */
export function normaliseName(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length === 0) throw bad('a name must not be empty')
  if (raw.includes('\0')) throw bad('a name must not contain NUL')
  if (CONTROL.test(raw)) throw bad('a name must not contain control characters')
  // A lone surrogate is not a character; U+FFFD is what invalid UTF-8 (or a bad %-escape) decodes to.
  if (!raw.isWellFormed() || raw.includes('\uFFFD')) throw bad('a name must be valid UTF-8')
  if (INVISIBLE.test(raw)) {
    const found = INVISIBLE.exec(raw)![0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')
    throw bad(`a name must not contain invisible or bidi control characters (U+${found})`)
  }
  if (raw.startsWith('/') || raw.startsWith('\\') || /^[A-Za-z]:/.test(raw)) {
    throw bad(`a name must be relative: ${JSON.stringify(raw)}`)
  }
  if (raw.includes('\\')) throw bad('a name must use / as its separator, not \\')
  const parts: string[] = []
  for (const part of raw.normalize('NFC').split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') throw bad(`a name must not contain '..': ${JSON.stringify(raw)}`)
    parts.push(part)
  }
  const name = parts.join('/')
  if (name === '') throw bad(`a name must have at least one part: ${JSON.stringify(raw)}`)
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES)
    throw bad(`a name must be at most ${MAX_NAME_BYTES} bytes`)
  return name
}

/** A listing prefix: like a name, but may be empty (everything). */
export function normalisePrefix(raw: unknown): string {
  if (raw === undefined || raw === '' || raw === '/') return ''
  const trailing = typeof raw === 'string' && raw.endsWith('/')
  const name = normaliseName(raw)
  return trailing ? `${name}/` : name
}

function bad(message: string): DfsError {
  return new DfsError('DFS_BAD_NAME', message)
}
