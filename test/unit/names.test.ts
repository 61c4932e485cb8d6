import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DfsError } from '../../src/protocol/errors.ts'
import { MAX_NAME_BYTES, normaliseName, normalisePrefix } from '../../src/protocol/names.ts'
import { BAD_NAMES } from '../helpers/bad-names.ts'

test('every bad name is refused with DFS_BAD_NAME', () => {
  for (const [why, name] of BAD_NAMES) {
    assert.throws(
      () => normaliseName(name),
      (error: unknown) => error instanceof DfsError && error.code === 'DFS_BAD_NAME',
      why,
    )
  }
})

test('names are normalised to one canonical form', () => {
  assert.equal(normaliseName('a//b/./c/'), 'a/b/c')
  assert.equal(normaliseName('./notes.txt'), 'notes.txt')
  assert.equal(normaliseName('cafe\u0301'), 'caf\u00e9')
  assert.equal(normaliseName('x'.repeat(MAX_NAME_BYTES)), 'x'.repeat(MAX_NAME_BYTES))
  assert.equal(normaliseName('with space/and-üñí'), 'with space/and-üñí')
})

test('prefixes may be empty and keep a trailing slash', () => {
  assert.equal(normalisePrefix(undefined), '')
  assert.equal(normalisePrefix(''), '')
  assert.equal(normalisePrefix('docs/'), 'docs/')
  assert.throws(() => normalisePrefix('../'), /'\.\.'/)
})
