// The key of a write lease as writers present it: `<fencing token>.<secret>`. The token orders
// writes (it only grows); the secret, 32 random bytes, proves the writer was given the lease.

import { DfsError } from './errors.ts'

export const LEASE_KEY = /^([1-9][0-9]{0,15})\.([A-Za-z0-9_-]{43})$/

/** For route schemas. */
export const LEASE_KEY_PATTERN = LEASE_KEY.source

export interface ParsedLeaseKey {
  token: number
  secret: string
}

export function parseLeaseKey(key: string): ParsedLeaseKey {
  const match = LEASE_KEY.exec(key)
  if (!match?.[1] || !match[2])
    throw new DfsError('DFS_BAD_REQUEST', 'a lease key is <token>.<secret>, as dfs lock hands it out')
  return { token: Number(match[1]), secret: match[2] }
}

export function formatLeaseKey(token: number, secret: string): string {
  return `${token}.${secret}`
}
