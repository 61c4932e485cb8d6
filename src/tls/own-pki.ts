// Bring your own PKI: an operator's own CA and certificates, given as files (--ca-cert, --cert,
// --key), instead of joining. A node's certificate must name it as dfs does its own (a URI
// subjectAltName `urn:dfs:<role>:<id>`), since every route is authorised by that name.

import { X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { DfsError } from '../protocol/errors.ts'
import type { TlsMaterial } from './ca-files.ts'
import { describeIdentity, identityOf, identityUri, type NodeIdentity } from './identity.ts'

export interface OwnPkiFiles {
  caCert: string
  cert: string
  key: string
}

/** The files' contents, checked: the certificate is signed by the CA and names exactly `identity`. */
export async function loadOwnPki(files: OwnPkiFiles, identity: NodeIdentity): Promise<TlsMaterial> {
  const read = (path: string, what: string) =>
    readFile(path, 'utf8').catch((error: unknown) => {
      throw new DfsError('DFS_USAGE', `cannot read ${what} ${path}: ${(error as Error).message}`)
    })
  const [ca, cert, key] = await Promise.all([
    read(files.caCert, '--ca-cert'),
    read(files.cert, '--cert'),
    read(files.key, '--key'),
  ])
  let x509: X509Certificate
  let caX509: X509Certificate
  try {
    x509 = new X509Certificate(cert)
    caX509 = new X509Certificate(ca)
  } catch {
    throw new DfsError(
      'DFS_USAGE',
      `--cert ${files.cert} and --ca-cert ${files.caCert} must be PEM certificates`,
    )
  }
  if (!x509.verify(caX509.publicKey)) {
    throw new DfsError('DFS_USAGE', `--cert ${files.cert} is not signed by --ca-cert ${files.caCert}`)
  }
  const named = identityOf({ subjectaltname: x509.subjectAltName ?? '' })
  if (named?.role !== identity.role || named.id !== identity.id) {
    throw new DfsError(
      'DFS_USAGE',
      `--cert ${files.cert} names ${named ? describeIdentity(named) : 'no dfs node'}, not ${describeIdentity(identity)}: it needs subjectAltName URI:${identityUri(identity)}`,
    )
  }
  return { ca, cert, key }
}
