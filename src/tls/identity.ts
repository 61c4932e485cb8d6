// Who a node is, as its certificate says: a role and an id, written into the certificate by the
// directory when it signs the node's request, and read back from the peer certificate of every
// call. Only this encoding, in one place: a URI name `urn:dfs:<role>:<id>`.

import type { PeerCertificate } from 'node:tls'

export const ROLES = ['directory', 'fileserver', 'proxy'] as const
export type Role = (typeof ROLES)[number]

export interface NodeIdentity {
  role: Role
  /** The file server's or proxy's id; 0 for the directory. */
  id: number
}

export function identityUri(identity: NodeIdentity): string {
  return `urn:dfs:${identity.role}:${identity.id}`
}

const URI = /(?:^|,\s*)URI:urn:dfs:(directory|fileserver|proxy):(\d{1,7})(?=,|$)/

/** The identity in a verified peer certificate, or undefined if it carries none. */
export function identityOf(
  peer: Pick<PeerCertificate, 'subjectaltname'> | undefined,
): NodeIdentity | undefined {
  const match = URI.exec(peer?.subjectaltname ?? '')
  if (!match?.[1] || !match[2]) return undefined
  return { role: match[1] as Role, id: Number(match[2]) }
}

export function describeIdentity(identity: NodeIdentity): string {
  return identity.role === 'directory' ? 'the directory' : `${identity.role} ${identity.id}`
}

/** The DNS names and IP addresses a certificate carries (as a peer certificate lists them). */
export function namesOf(peer: Pick<PeerCertificate, 'subjectaltname'> | undefined): Set<string> {
  const names = (peer?.subjectaltname ?? '')
    .split(/,\s*/)
    .map((entry) => /^(?:DNS|IP Address):(.+)$/.exec(entry)?.[1])
  return new Set(names.filter((name): name is string => name !== undefined))
}
