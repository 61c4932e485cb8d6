// The cluster certificate authority: created once by the directory in the shared data root, then used by
// every role on the same machine to issue its own certificate. This folder is the only code that
// reads or writes certificates and keys.

import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto'
import { hostname } from 'node:os'
import { isIP } from 'node:net'
import { mkdir, readFile, rename, writeFile, open } from 'node:fs/promises'
import { join } from 'node:path'
import forge from 'node-forge'
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

const YEAR_MS = 365 * 24 * 3600 * 1000

export function caDir(root: string): string {
  return join(root, 'ca')
}

export function caCertPath(root: string): string {
  return join(caDir(root), 'ca.crt')
}

/** Loads the cluster CA from the data root, creating it if this is the cluster's first start. */
export async function ensureCa(root: string): Promise<CaPair> {
  const existing = await loadCa(root)
  if (existing) return existing
  await mkdir(caDir(root), { recursive: true, mode: 0o700 })
  // Two directories starting at once on one root must not make two CAs: the first to create the
  // lock file writes the CA, the other waits for it.
  const lock = join(caDir(root), 'create.lock')
  let handle
  try {
    handle = await open(lock, 'wx')
  } catch {
    return waitForCa(root, { timeoutMs: 30_000 })
  }
  try {
    const pair = makeCa()
    await atomicWrite(join(caDir(root), 'ca.key'), pair.key, 0o600)
    await atomicWrite(caCertPath(root), pair.cert, 0o644)
    return pair
  } finally {
    await handle.close()
  }
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
 * Waits for another process (the directory) to create the CA in a shared data root, so roles can
 * start in any order. `onWaiting` is told once, if the CA is not there at the first look.
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

export function makeCa(): CaPair {
  const { publicKey, privateKey } = newKeyPair()
  const cert = forge.pki.createCertificate()
  cert.publicKey = publicKey
  cert.serialNumber = serial()
  cert.validity.notBefore = new Date(Date.now() - 60_000)
  cert.validity.notAfter = new Date(Date.now() + 10 * YEAR_MS)
  const subject = [
    { name: 'commonName', value: `dfs cluster CA ${randomBytes(4).toString('hex')}` },
    { name: 'organizationName', value: 'dfs' },
  ]
  cert.setSubject(subject)
  cert.setIssuer(subject)
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ])
  cert.sign(privateKey, forge.md.sha256.create())
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(privateKey) }
}

/**
 * Issues a certificate for one node, good both as a TLS server and as a client (mutual TLS between
 * roles). Names: localhost, the loopback addresses, this host's name, and any extra hosts given.
 */
export function issueNodeCert(ca: CaPair, commonName: string, extraHosts: string[] = []): CaPair {
  const caCert = forge.pki.certificateFromPem(ca.cert)
  const caKey = forge.pki.privateKeyFromPem(ca.key)
  const { publicKey, privateKey } = newKeyPair()
  const cert = forge.pki.createCertificate()
  cert.publicKey = publicKey
  cert.serialNumber = serial()
  cert.validity.notBefore = new Date(Date.now() - 60_000)
  cert.validity.notAfter = new Date(Date.now() + YEAR_MS)
  cert.setSubject([
    { name: 'commonName', value: commonName },
    { name: 'organizationName', value: 'dfs' },
  ])
  cert.setIssuer(caCert.subject.attributes)
  const hosts = [...new Set(['localhost', '127.0.0.1', '::1', hostname(), ...extraHosts])]
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    {
      name: 'subjectAltName',
      altNames: hosts.map((host) => (isIP(host) ? { type: 7, ip: host } : { type: 2, value: host })),
    },
  ])
  cert.sign(caKey, forge.md.sha256.create())
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(privateKey) }
}

/** The SHA-256 fingerprint of a PEM certificate, as printed for users to compare. */
export function fingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256
}

function newKeyPair(): { publicKey: forge.pki.rsa.PublicKey; privateKey: forge.pki.rsa.PrivateKey } {
  // Node's native key generation; forge is only used to build and sign the certificates.
  const pair = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  })
  return {
    publicKey: forge.pki.publicKeyFromPem(pair.publicKey),
    privateKey: forge.pki.privateKeyFromPem(pair.privateKey) as forge.pki.rsa.PrivateKey,
  }
}

function serial(): string {
  // A positive 128-bit serial: clear the top bit so DER does not read it as negative.
  const bytes = randomBytes(16)
  bytes[0] = (bytes[0] ?? 0) & 0x7f
  return bytes.toString('hex')
}

async function atomicWrite(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, data, { mode, flush: true })
  await rename(tmp, path)
}
