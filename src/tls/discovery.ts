// Finding a cluster's CA from its fingerprint, as `kubeadm join` does with a CA hash and ssh with a
// host key: a node (or the CLI) that knows only the fingerprint reads the certificate chain a server
// presents and keeps the CA certificate whose SHA-256 fingerprint is the one it was given. Nothing
// is sent on that connection and nothing else from it is believed; every later connection verifies
// the server against the CA found here, as usual.

import { X509Certificate } from 'node:crypto'
import { connect, type DetailedPeerCertificate } from 'node:tls'
import { DfsError } from '../protocol/errors.ts'
import { normaliseFingerprint, showFingerprint } from './join-token.ts'

/** The CA certificates (PEM) in the chain `url` presents, each with its fingerprint (hex). */
export async function presentedCas(
  url: string,
  timeoutMs = 5000,
): Promise<{ pem: string; fingerprint: string }[]> {
  const { hostname, port } = new URL(url)
  const host = hostname.replace(/^\[|\]$/g, '')
  const chain = await new Promise<DetailedPeerCertificate>((resolve, reject) => {
    // The one connection that does not verify the chain: it only reads it (see above).
    const socket = connect({ host, port: Number(port || 443), rejectUnauthorized: false, timeout: timeoutMs })
    socket.once('secureConnect', () => {
      resolve(socket.getPeerCertificate(true))
      socket.destroy()
    })
    socket.once('timeout', () => socket.destroy(new Error(`no TLS answer from ${url} in ${timeoutMs} ms`)))
    socket.once('error', reject)
  })
  const found: { pem: string; fingerprint: string }[] = []
  const seen = new Set<string>()
  for (let cert: DetailedPeerCertificate | undefined = chain; cert?.raw; cert = cert.issuerCertificate) {
    const x509 = new X509Certificate(cert.raw)
    const fingerprint = normaliseFingerprint(x509.fingerprint256)
    if (seen.has(fingerprint)) break
    seen.add(fingerprint)
    if (x509.ca) found.push({ pem: x509.toString(), fingerprint })
  }
  return found
}

/** The CA of the cluster at `url`, if its fingerprint is `expected`; else a clear refusal. */
export async function discoverCa(url: string, expected: string): Promise<string> {
  const want = normaliseFingerprint(expected)
  const cas = await presentedCas(url)
  const match = cas.find((ca) => ca.fingerprint === want)
  if (match) return match.pem
  const seen = cas.map((ca) => showFingerprint(ca.fingerprint)).join(', ') || 'no CA certificate'
  throw new DfsError(
    'DFS_CA_MISMATCH',
    `${url} presents ${seen}, not the cluster CA ${showFingerprint(want)}: a different cluster, or one rebuilt since (get a new token)`,
  )
}
