// The cluster certificate authority: created once by the directory in its data root, and used only
// there, to sign the certificate requests of nodes that join (a node makes its own key, which never
// leaves it). This folder is the only code that reads or writes certificates and keys; ca-files.ts
// holds the reading, this file the making.

import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { isIP } from 'node:net'
import { mkdir, rename, writeFile, open } from 'node:fs/promises'
import { join } from 'node:path'
import forge from 'node-forge'
import { DfsError } from '../protocol/errors.ts'
import { caCertPath, caDir, loadCa, waitForCa, type CaPair } from './ca-files.ts'
import { describeIdentity, identityUri, type NodeIdentity } from './identity.ts'

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
  cert.serialNumber = certificateSerial()
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

/** How long a node's certificate is good for; it is renewed when a third of that is left. */
export const NODE_CERT_LIFETIME_MS = YEAR_MS

/**
 * Issues a certificate (and a new key) for a node whose key is made here: the directory's own, and
 * certificates for tests and the benchmark's baseline server.
 */
export function issueNodeCert(
  ca: CaPair,
  identity: NodeIdentity,
  hosts: string[] = [],
  lifetimeMs = NODE_CERT_LIFETIME_MS,
): CaPair {
  const { publicKey, privateKey } = newKeyPair()
  return {
    cert: buildNodeCert(ca, publicKey, identity, hosts, lifetimeMs),
    key: forge.pki.privateKeyToPem(privateKey),
  }
}

/** A node's key and a certificate request for it (the node keeps the key; the request is sent). */
export function makeCsr(identity: NodeIdentity): { key: string; csr: string } {
  const { publicKey, privateKey } = newKeyPair()
  const csr = forge.pki.createCertificationRequest()
  csr.publicKey = publicKey
  csr.setSubject([{ name: 'commonName', value: `dfs ${describeIdentity(identity)}` }])
  csr.sign(privateKey, forge.md.sha256.create())
  return { key: forge.pki.privateKeyToPem(privateKey), csr: forge.pki.certificationRequestToPem(csr) }
}

/**
 * Signs a node's certificate request. Only the request's public key is used (after checking the
 * request is signed by its key): the role, id and names come from the directory's own decision.
 */
export function signCsr(ca: CaPair, csrPem: string, identity: NodeIdentity, hosts: string[]): string {
  let csr: ReturnType<typeof forge.pki.certificationRequestFromPem>
  try {
    csr = forge.pki.certificationRequestFromPem(csrPem)
  } catch {
    throw new DfsError('DFS_BAD_REQUEST', 'the certificate request is not a PEM PKCS#10 request')
  }
  if (!csr.publicKey || !csr.verify()) {
    throw new DfsError('DFS_BAD_REQUEST', 'the certificate request is not signed by its own key')
  }
  return buildNodeCert(ca, csr.publicKey as forge.pki.rsa.PublicKey, identity, hosts, NODE_CERT_LIFETIME_MS)
}

/**
 * A certificate for one node, good both as a TLS server and as a client (mutual TLS between roles).
 * Names: localhost, the loopback addresses, this host's name, any extra hosts, and the node's
 * identity as a URI name that every route's authorisation reads back.
 */
function buildNodeCert(
  ca: CaPair,
  publicKey: forge.pki.rsa.PublicKey,
  identity: NodeIdentity,
  extraHosts: string[],
  lifetimeMs: number,
): string {
  const caCert = forge.pki.certificateFromPem(ca.cert)
  const caKey = forge.pki.privateKeyFromPem(ca.key)
  const cert = forge.pki.createCertificate()
  cert.publicKey = publicKey
  cert.serialNumber = certificateSerial()
  cert.validity.notBefore = new Date(Date.now() - 60_000)
  cert.validity.notAfter = new Date(Date.now() + lifetimeMs)
  cert.setSubject([
    { name: 'commonName', value: `dfs ${describeIdentity(identity)}` },
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
      altNames: [
        ...hosts.map((host) => (isIP(host) ? { type: 7, ip: host } : { type: 2, value: host })),
        { type: 6, value: identityUri(identity) },
      ],
    },
  ])
  cert.sign(caKey, forge.md.sha256.create())
  return forge.pki.certificateToPem(cert)
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

export function certificateSerial(): string {
  // A positive serial of 16 bytes: the top bit clear so DER does not read it as negative, and the
  // next one set so the first byte is never zero (DER's minimal INTEGER: a serial starting 00 7f was
  // written as it came, and OpenSSL refused the certificate with "illegal padding", 1 time in 256).
  const bytes = randomBytes(16)
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40
  return bytes.toString('hex')
}

async function atomicWrite(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, data, { mode, flush: true })
  await rename(tmp, path)
}
