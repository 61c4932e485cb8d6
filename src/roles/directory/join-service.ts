// Letting nodes in: join tokens (made, listed, revoked; kept only as hashes) and the certificates the
// directory signs for nodes that present one, each naming exactly the role and id it was issued for.

import { X509Certificate } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { JoinTokenRecord, MetadataStore } from '../../metadata/store.ts'
import { DfsError } from '../../protocol/errors.ts'
import type { CreatedToken, TokenView } from '../../protocol/types.ts'
import type { Clock } from '../../server/clock.ts'
import { signCsr } from '../../tls/ca.ts'
import type { SigningCa } from '../../tls/node-tls.ts'
import { describeIdentity, type NodeIdentity } from '../../tls/identity.ts'
import {
  formatJoinToken,
  hashSecret,
  newJoinToken,
  normaliseFingerprint,
  parseJoinToken,
  secretMatches,
} from '../../tls/join-token.ts'
import { localTokenPath } from '../../tls/local-token.ts'
import { fingerprint } from '../../tls/ca-files.ts'

export type TokenRole = JoinTokenRecord['role']

export interface NewToken {
  role: TokenRole
  /** 0: never expires. */
  ttlMs: number
  /** undefined: unlimited. */
  uses?: number
  createdBy: string
}

export type { TokenView }

export interface JoinRequest {
  token: string
  role: 'fileserver' | 'proxy'
  id: number
  csr: string
  hosts: string[]
}

export class JoinService {
  private readonly store: MetadataStore
  private readonly ca: SigningCa
  private readonly clock: Clock
  readonly fingerprint: string

  constructor(store: MetadataStore, ca: SigningCa, clock: Clock) {
    this.store = store
    this.ca = ca
    this.clock = clock
    this.fingerprint = normaliseFingerprint(fingerprint(ca.cert))
  }

  /** Makes a token; the only time its secret is seen. */
  async create(options: NewToken): Promise<CreatedToken> {
    const token = newJoinToken(this.fingerprint)
    const now = this.clock.now()
    const record: JoinTokenRecord = {
      id: token.id,
      secretHash: hashSecret(token.secret),
      role: options.role,
      created: now,
      expires: options.ttlMs === 0 ? 0 : now + options.ttlMs,
      usesLeft: options.uses ?? null,
      revoked: false,
      createdBy: options.createdBy,
    }
    await this.store.createJoinToken(record)
    return { token: formatJoinToken(token), view: view(record) }
  }

  async list(): Promise<TokenView[]> {
    return (await this.store.listJoinTokens()).map(view)
  }

  async revoke(id: string): Promise<void> {
    if (!(await this.store.revokeJoinToken(id))) {
      throw new DfsError(
        'DFS_NOT_FOUND',
        `no join token ${id} that is not already revoked (see dfs token list)`,
      )
    }
  }

  /**
   * The local token for roles sharing the directory's data root: written once (0600) and kept valid;
   * made again if its record is gone (a new metadata store) or it was revoked.
   */
  async ensureLocalToken(root: string): Promise<void> {
    const path = localTokenPath(root)
    const existing = await readFile(path, 'utf8').catch(() => undefined)
    if (existing) {
      try {
        const parsed = parseJoinToken(existing)
        const record = await this.store.getJoinToken(parsed.id)
        if (parsed.fingerprint === this.fingerprint && record && !record.revoked) return
      } catch {
        // Unreadable: replaced below.
      }
    }
    const { token } = await this.create({ role: 'any', ttlMs: 0, createdBy: 'local' })
    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
    await writeFile(`${path}.tmp`, `${token}\n`, { mode: 0o600, flush: true })
    await rename(`${path}.tmp`, path)
  }

  /** Checks a join request's token and signs its certificate request for exactly its role and id. */
  async join(request: JoinRequest): Promise<{ cert: string; ca: string }> {
    const record = await this.check(request.token, request.role)
    const identity: NodeIdentity = { role: request.role, id: request.id }
    // A remote token lets a new node in, not take over one that is there (the local token, held only
    // on the directory's host, may re-issue: that is how a role whose tls/ dir was lost comes back).
    if (record.createdBy !== 'local' && (await this.holdsValidCert(identity))) {
      throw new DfsError(
        'DFS_CONFLICT',
        `${describeIdentity(identity)} already has a certificate: pick another --id, or remove the old node first`,
      )
    }
    if (!(await this.store.useJoinToken(record.id, this.clock.now()))) {
      throw new DfsError('DFS_AUTH', 'the join token has no uses left')
    }
    return { cert: await this.issue(request.csr, identity, request.hosts), ca: this.ca.cert }
  }

  /** A node renews its own certificate before it expires, proving who it is with the one it has. */
  async renew(identity: NodeIdentity, csr: string, hosts: string[]): Promise<{ cert: string; ca: string }> {
    return { cert: await this.issue(csr, identity, hosts), ca: this.ca.cert }
  }

  private async issue(csr: string, identity: NodeIdentity, hosts: string[]): Promise<string> {
    const { key } = this.ca
    if (!key) {
      throw new DfsError(
        'DFS_FORBIDDEN',
        'this directory runs on certificates of its own PKI (--cert, no --ca-key): it signs none; give each node --ca-cert/--cert/--key',
      )
    }
    const cert = signCsr({ cert: this.ca.cert, key }, csr, identity, hosts)
    const x509 = new X509Certificate(cert)
    await this.store.recordNodeCert({
      serial: x509.serialNumber,
      role: identity.role,
      nodeId: identity.id,
      issued: this.clock.now(),
      expires: Date.parse(x509.validTo),
      revoked: false,
    })
    return cert
  }

  private async holdsValidCert(identity: NodeIdentity): Promise<boolean> {
    const now = this.clock.now()
    return (await this.store.nodeCerts(identity.role, identity.id)).some((c) => !c.revoked && c.expires > now)
  }

  private async check(text: string, role: 'fileserver' | 'proxy'): Promise<JoinTokenRecord> {
    let token
    try {
      token = parseJoinToken(text)
    } catch {
      throw new DfsError('DFS_AUTH', 'not a dfs join token')
    }
    if (token.fingerprint !== this.fingerprint) {
      throw new DfsError('DFS_AUTH', 'the join token is for another cluster (its CA fingerprint differs)')
    }
    const record = await this.store.getJoinToken(token.id)
    if (!record || !secretMatches(token.secret, record.secretHash)) {
      throw new DfsError('DFS_AUTH', 'not a valid join token for this cluster')
    }
    if (record.revoked) throw new DfsError('DFS_AUTH', 'the join token was revoked')
    if (record.expires !== 0 && record.expires <= this.clock.now()) {
      throw new DfsError('DFS_AUTH', `the join token expired at ${new Date(record.expires).toISOString()}`)
    }
    if (record.usesLeft !== null && record.usesLeft <= 0)
      throw new DfsError('DFS_AUTH', 'the join token has no uses left')
    if (record.role !== 'any' && record.role !== role) {
      throw new DfsError('DFS_FORBIDDEN', `the join token is for a ${record.role}, not a ${role}`)
    }
    return record
  }
}

function view(record: JoinTokenRecord): TokenView {
  const { secretHash: _secret, ...rest } = record
  return rest
}
