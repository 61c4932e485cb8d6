// The cluster certificate authority: created once by the directory in the shared data root, then used by
// every role on the same machine to issue its own certificate. This folder is the only code that
// reads or writes certificates and keys; ca-files.ts holds the reading, this file the making.

import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { isIP } from 'node:net'
import { mkdir, rename, writeFile, open } from 'node:fs/promises'
import { join } from 'node:path'
import forge from 'node-forge'
import { caCertPath, caDir, loadCa, waitForCa, type CaPair } from './ca-files.ts'

export * from './ca-files.ts'

const YEAR_MS = 365 * 24 * 3600 * 1000

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
