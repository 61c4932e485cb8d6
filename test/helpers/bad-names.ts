// Names the namespace must refuse, each with why: shared by the unit and cluster tests.

import { MAX_NAME_BYTES } from '../../src/protocol/names.ts'

export const BAD_NAMES: [string, string][] = [
  ['empty', ''],
  ['only slashes', '///'],
  ['absolute', '/etc/passwd'],
  ['parent', '../secret'],
  ['parent inside', 'a/b/../../../c'],
  ['dot dot alone', '..'],
  ['NUL', 'a\u0000b'],
  ['control', 'a\u0001b'],
  ['newline', 'a\nb'],
  ['DEL', 'a\u007fb'],
  ['backslash', 'a\\..\\b'],
  ['drive letter', 'C:/x'],
  ['too long', 'x'.repeat(MAX_NAME_BYTES + 1)],
  ['too long in UTF-8', 'é'.repeat(MAX_NAME_BYTES / 2 + 1)],
  ['right-to-left override', 'invoice\u202Efdp.exe'],
  ['bidi isolate', 'a\u2066b\u2069'],
  ['right-to-left mark', 'a\u200Fb'],
  ['zero-width space', 'pass\u200Bwords'],
  ['zero-width joiner', 'a\u200Db'],
  ['byte order mark', '\uFEFFname'],
  ['soft hyphen', 'pass\u00ADwords'],
  ['word joiner', 'a\u2060b'],
  ['invalid UTF-8 (replacement character)', 'a\uFFFDb'],
  ['lone surrogate', 'a\uD800b'],
]

/**
 * A name as a query value. encodeURIComponent refuses lone surrogates; they go as the bytes a careless
 * encoder sends (CESU-8, which is not valid UTF-8).
 */
export function queryValue(name: string): string {
  return [...name].map((ch) => (/[\uD800-\uDFFF]/.test(ch) ? '%ED%A0%80' : encodeURIComponent(ch))).join('')
}

/** Query values that are not valid UTF-8 once %-decoded: refused, never stored as look-alikes. */
export const BAD_ESCAPES: [string, string][] = [
  ['a lone byte', 'a%FFb'],
  ['an overlong slash', 'a%C0%AFb'],
  ['a truncated sequence', 'a%E2%82'],
  ['a surrogate in CESU-8', 'a%ED%A0%80b'],
]
