// What tests commit to a metadata store: a version of a name written by alice, held by servers 1
// and 2, with the defaults each test may override.

import type { NewVersion } from '../../src/metadata/store.ts'

export const PERMS = { owner: 'alice', group: 'users', mode: 0o664 }

export function version(name: string, expectedVersion = 0, overrides: Partial<NewVersion> = {}): NewVersion {
  return {
    name,
    expectedVersion,
    sha256: 'a'.repeat(64),
    size: 1,
    primary: 1,
    holders: [1, 2],
    writer: 'alice',
    perms: PERMS,
    ...overrides,
  }
}
