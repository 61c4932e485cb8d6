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
]
