// What file servers and proxies share as members of a cluster: how they are started (where, which
// directory, how they join) and their TLS identity, joined or kept, and renewed while they run.

import { LiveTls } from '../tls/live-tls.ts'
import type { Role } from '../tls/identity.ts'
import { memberTls, type JoinOptions } from '../tls/node-tls.ts'
import type { OwnPkiFiles } from '../tls/own-pki.ts'

export interface MemberOptions {
  id: number
  root: string
  host: string
  port: number
  advertise?: string
  /** The cluster's directories (several share one database), tried in this order. */
  directories: readonly string[]
  /** A join token, for the first start on a host without the directory's data root. */
  join?: string
  /** The operator's own CA and certificate for this node, instead of joining. */
  ownPki?: OwnPkiFiles
  /** How often to check whether the certificate is due for renewal. */
  renewEveryMs: number
}

/** The names a node's certificate carries: its bind address (unless a wildcard) and advertised name. */
export function hosts(options: { host: string; advertise?: string }): string[] {
  return [options.host, options.advertise].filter((h): h is string => !!h && h !== '0.0.0.0' && h !== '::')
}

/** Joins (or finds its kept certificate) and returns the identity, ready to be renewed in place. */
export async function memberIdentity(
  options: MemberOptions,
  role: Exclude<Role, 'directory'>,
): Promise<{ live: LiveTls; join: JoinOptions }> {
  const join: JoinOptions = {
    root: options.root,
    identity: { role, id: options.id },
    directories: options.directories,
    token: options.join,
    ownPki: options.ownPki,
    hosts: hosts(options),
    onWaiting: (why) => process.stderr.write(`${why}\n`),
  }
  return { live: new LiveTls(await memberTls(join)), join }
}
