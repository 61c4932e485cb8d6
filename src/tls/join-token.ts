// Join tokens, in the spirit of `kubeadm join`: one string that tells a new node which cluster CA to
// trust (its SHA-256 fingerprint) and proves to the directory that an operator let it in (an id and
// a secret; the directory keeps only the secret's hash). `dfs1.<fingerprint>.<id>.<secret>`.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { DfsError } from '../protocol/errors.ts'

export interface JoinToken {
  /** The cluster CA's SHA-256 fingerprint, 64 lowercase hex digits. */
  fingerprint: string
  id: string
  secret: string
}

const TOKEN = /^dfs1\.([0-9a-f]{64})\.([0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/

export function formatJoinToken(token: JoinToken): string {
  return `dfs1.${token.fingerprint}.${token.id}.${token.secret}`
}

export function parseJoinToken(text: string): JoinToken {
  const match = TOKEN.exec(text.trim())
  if (!match?.[1] || !match[2] || !match[3]) {
    throw new DfsError(
      'DFS_USAGE',
      'not a dfs join token (dfs1.<fingerprint>.<id>.<secret>): see dfs token create',
    )
  }
  return { fingerprint: match[1], id: match[2], secret: match[3] }
}

/** A fresh id and secret for a cluster whose CA has `fingerprint`. */
export function newJoinToken(fingerprint: string): JoinToken {
  return {
    fingerprint: normaliseFingerprint(fingerprint),
    id: randomBytes(6).toString('hex'),
    secret: randomBytes(32).toString('base64url'),
  }
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex')
}

export function secretMatches(secret: string, hash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex')
  const b = Buffer.from(hash, 'hex')
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * A SHA-256 fingerprint in any of the forms people paste: `openssl x509 -fingerprint -sha256`'s
 * `sha256 Fingerprint=AB:CD:…`, Node's `AB:CD:…`, `SHA256:abcd…`, or bare hex; colons and case optional.
 */
export function normaliseFingerprint(text: string): string {
  const hex = text
    .trim()
    .replace(/^sha-?256\s*(fingerprint)?\s*[=:]?\s*/i, '')
    .replace(/:/g, '')
    .toLowerCase()
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new DfsError('DFS_USAGE', `not a SHA-256 fingerprint: ${text.slice(0, 120)}`)
  }
  return hex
}

/** How a fingerprint is shown to people: colon-separated upper-case pairs, as openssl prints it. */
export function showFingerprint(hex: string): string {
  return hex.toUpperCase().match(/../g)!.join(':')
}
