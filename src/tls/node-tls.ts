// Gives each role its TLS identity. The directory holds the cluster CA and signs its own certificate.
// Every other node joins: with a token (`--join`, or the directory's local token when it shares the
// directory's data root) it pins the CA by fingerprint, makes its own key, sends a certificate
// request and keeps the certificate it gets for its role and id under <data>/tls/<role>-<id>/,
// reusing it on restart; while it runs, it renews it when a third of its life is left.

import { X509Certificate } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { NodeAgent } from '../client/agent.ts'
import { DfsError } from '../protocol/errors.ts'
import { describeNetworkError, networkFailure } from '../client/network-failure.ts'
import { readJson } from '../client/streams.ts'
import { ensureCa, issueNodeCert, makeCsr, NODE_CERT_LIFETIME_MS, type TlsMaterial } from './ca.ts'
import { loadCa, type CaPair } from './ca-files.ts'
import { loadOwnPki, type OwnPkiFiles } from './own-pki.ts'

/** The CA as the directory uses it: without its key (bring-your-own PKI), it signs nothing. */
export type SigningCa = Pick<CaPair, 'cert'> & Partial<Pick<CaPair, 'key'>>
import { discoverCa } from './discovery.ts'
import { describeIdentity, identityOf, type NodeIdentity } from './identity.ts'
import { parseJoinToken } from './join-token.ts'
import { localTokenPath } from './local-token.ts'

/**
 * The directory's own TLS: the CA (made on the first start) and a certificate it signs itself; or
 * the operator's own CA and certificate for it.
 */
export async function directoryTls(
  root: string,
  hosts: string[],
  ownPki?: OwnPkiFiles & { caKey?: string },
): Promise<{ tls: TlsMaterial; ca: SigningCa; created: boolean }> {
  if (ownPki) {
    const tls = await loadOwnPki(ownPki, { role: 'directory', id: 0 })
    // With the CA's key too, the directory signs joining nodes' certificates with it.
    const key = ownPki.caKey ? await readFile(ownPki.caKey, 'utf8') : undefined
    return { tls, ca: { cert: tls.ca, ...(key ? { key } : {}) }, created: false }
  }
  const existed = (await loadCa(root)) !== undefined
  const ca = await ensureCa(root)
  const own = issueNodeCert(ca, { role: 'directory', id: 0 }, hosts)
  return { tls: { cert: own.cert, key: own.key, ca: ca.cert }, ca, created: !existed }
}

export interface JoinOptions {
  root: string
  identity: NodeIdentity
  /** The cluster's directories, tried in turn: any of them signs a certificate. */
  directories: readonly string[]
  /** A join token; without one, the directory's local token in a shared data root is used. */
  token?: string
  hosts: string[]
  /** Told once if this node has to wait for the directory. */
  onWaiting?: (why: string) => void
  /** The operator's own CA and certificate: used as they are, no joining. */
  ownPki?: OwnPkiFiles
}

function credentialsDir(root: string, identity: NodeIdentity): string {
  return join(root, 'tls', `${identity.role}-${identity.id}`)
}

/** A member's TLS identity: the one it kept (while it has not expired), or a new one from joining. */
export async function memberTls(options: JoinOptions): Promise<TlsMaterial> {
  if (options.ownPki) return loadOwnPki(options.ownPki, options.identity)
  const saved = await loadCredentials(options)
  if (saved) return saved
  const token = options.token ?? (await waitForLocalToken(options))
  const ca = await untilReachable(options, (directory) =>
    discoverCa(directory, parseJoinToken(token).fingerprint),
  )
  const { key, csr } = makeCsr(options.identity)
  const body = { role: options.identity.role, id: options.identity.id, csr, hosts: options.hosts, token }
  const { cert } = await untilReachable(options, (directory) =>
    postJson<{ cert: string }>(`${directory}/v1/join`, body, { ca }),
  )
  const material = { cert, key, ca }
  await saveCredentials(options, material)
  return material
}

/**
 * A renewed identity if `current` has less than a third of its life left (the new certificate is
 * asked for with the current one, and kept); undefined if it is not due, or not ours to renew.
 */
export async function renewIfDue(
  options: JoinOptions,
  current: TlsMaterial,
): Promise<TlsMaterial | undefined> {
  if (options.ownPki || !renewalDue(current.cert)) return undefined
  const { key, csr } = makeCsr(options.identity)
  // Any directory that answers will do; the periodic check tries again later if none does.
  const { cert } = await firstReachable(options.directories, (directory) =>
    postJson<{ cert: string }>(`${directory}/v1/certificates/renew`, { csr, hosts: options.hosts }, current),
  )
  const material = { cert, key, ca: current.ca }
  await saveCredentials(options, material)
  return material
}

async function loadCredentials(options: JoinOptions): Promise<TlsMaterial | undefined> {
  const dir = credentialsDir(options.root, options.identity)
  let material: TlsMaterial
  try {
    const [cert, key, ca] = await Promise.all(
      ['node.crt', 'node.key', 'ca.crt'].map((file) => readFile(join(dir, file), 'utf8')),
    )
    material = { cert: cert!, key: key!, ca: ca! }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  const x509 = new X509Certificate(material.cert)
  const held = identityOf({ subjectaltname: x509.subjectAltName ?? '' })
  if (held?.role !== options.identity.role || held.id !== options.identity.id) {
    throw new DfsError(
      'DFS_USAGE',
      `${dir} holds the certificate of another node; give this one its own --data`,
    )
  }
  // An expired certificate cannot renew itself: join again, with a token.
  return Date.parse(x509.validTo) > Date.now() ? material : undefined
}

function renewalDue(cert: string): boolean {
  return Date.parse(new X509Certificate(cert).validTo) - Date.now() < NODE_CERT_LIFETIME_MS / 3
}

async function saveCredentials(options: JoinOptions, material: TlsMaterial): Promise<void> {
  const dir = credentialsDir(options.root, options.identity)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  for (const [file, data] of [
    ['node.key', material.key],
    ['node.crt', material.cert],
    ['ca.crt', material.ca],
  ] as const) {
    const tmp = join(dir, `${file}.tmp`)
    await writeFile(tmp, data, { mode: 0o600, flush: true })
    await rename(tmp, join(dir, file))
  }
}

/** The directory's local join token, from a data root shared with it (waits for it to appear). */
async function waitForLocalToken(options: JoinOptions): Promise<string> {
  const path = localTokenPath(options.root)
  for (let delay = 50, first = true; ; delay = Math.min(delay * 2, 1000), first = false) {
    try {
      return (await readFile(path, 'utf8')).trim()
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
    if (first) {
      options.onWaiting?.(
        `no join token: waiting for ${path} (start dfs directory with the same --data, or give --join TOKEN)`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, delay))
  }
}

/** Whether a failure means the directory could not be reached (as opposed to refusing us). */
function unreachable(error: unknown): boolean {
  return error instanceof DfsError ? error.code === 'DFS_UNAVAILABLE' : true
}

/**
 * Calls each directory in turn, round after round, while they are unreachable (start order does not
 * matter); other errors end it. Said once, after a first round in which none answered.
 */
async function untilReachable<T>(options: JoinOptions, call: (directory: string) => Promise<T>): Promise<T> {
  const { directories } = options
  const failures: string[] = []
  for (let attempt = 0; ; attempt++) {
    const directory = directories[attempt % directories.length]!
    try {
      return await call(directory)
    } catch (error) {
      if (!unreachable(error)) throw error
      if (attempt < directories.length) failures.push(`${directory}: ${describe(error)}`)
      if (attempt === directories.length - 1) {
        const as = describeIdentity(options.identity)
        options.onWaiting?.(
          directories.length === 1
            ? `waiting for the directory at ${directory} to join as ${as}: ${describe(error)}`
            : `waiting for a directory to join as ${as}: ${failures.join('; ')}`,
        )
      }
      const round = Math.floor(attempt / directories.length)
      if ((attempt + 1) % directories.length === 0)
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** Math.min(round, 4), 2000)))
    }
  }
}

/** The first directory's answer, trying each once while they are unreachable; other errors end it. */
async function firstReachable<T>(
  directories: readonly string[],
  call: (directory: string) => Promise<T>,
): Promise<T> {
  let last: unknown
  for (const directory of directories) {
    try {
      return await call(directory)
    } catch (error) {
      if (!unreachable(error)) throw error
      last = error
    }
  }
  throw last
}

function describe(error: unknown): string {
  return error instanceof Error ? describeNetworkError(error) : String(error)
}

async function postJson<T>(
  url: string,
  body: unknown,
  tls: { ca: string; cert?: string; key?: string },
): Promise<T> {
  const agent = new NodeAgent({ ca: tls.ca, cert: tls.cert, key: tls.key })
  try {
    const response = await agent
      .request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      .catch((error: unknown) => {
        throw networkFailure(`directory ${url}`, error)
      })
    return (await readJson(response, `directory ${url}`)) as T
  } finally {
    await agent.close()
  }
}
