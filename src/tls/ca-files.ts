// The cluster CA's files in the directory's data root, and reading them: what the directory and
// clients on its host need, without the certificate-making code (and its library).

import { X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DfsError } from '../protocol/errors.ts'

export interface CaPair {
  cert: string
  key: string
}

/** What a role needs to speak TLS: its own pair, and the cluster CA it trusts. */
export interface TlsMaterial {
  cert: string
  key: string
  ca: string
}

export function caDir(root: string): string {
  return join(root, 'ca')
}

export function caCertPath(root: string): string {
  return join(caDir(root), 'ca.crt')
}

export async function loadCa(root: string): Promise<CaPair | undefined> {
  try {
    const [cert, key] = await Promise.all([
      readFile(caCertPath(root), 'utf8'),
      readFile(join(caDir(root), 'ca.key'), 'utf8'),
    ])
    return { cert, key }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/**
 * Waits for another directory process starting on the same data root to finish creating the CA
 * (see ensureCa). `onWaiting` is told once, if the CA is not there at the first look.
 */
export async function waitForCa(
  root: string,
  options: { timeoutMs?: number; onWaiting?: (dir: string) => void } = {},
): Promise<CaPair> {
  const deadline = Date.now() + (options.timeoutMs ?? Infinity)
  for (let delay = 50, first = true; ; delay = Math.min(delay * 2, 1000), first = false) {
    const pair = await loadCa(root)
    if (pair) return pair
    if (first) options.onWaiting?.(caDir(root))
    if (Date.now() > deadline) {
      throw new DfsError(
        'DFS_UNAVAILABLE',
        `no cluster CA in ${caDir(root)}: start 'dfs directory' with the same --data first`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, delay))
  }
}

/** The CA certificate alone (what a client needs to trust the cluster), if present. */
export async function readCaCert(root: string): Promise<string | undefined> {
  try {
    return await readFile(caCertPath(root), 'utf8')
  } catch {
    return undefined
  }
}

/** The SHA-256 fingerprint of a PEM certificate, as printed for users to compare. */
export function fingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256
}
