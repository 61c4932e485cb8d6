// Where `dfs token` manages join tokens: on the directory's own host, straight in its data root
// (`--data DIR`, the metadata database and the CA beside it: no login, as kubeadm does on the
// control plane), or anywhere else through a proxy, as the cluster's admin.

import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { CreatedToken, NewTokenRequest, TokenView } from '../protocol/types.ts'
import { loadCa } from '../tls/ca-files.ts'
import { connect } from './connection.ts'

export interface TokenAdmin {
  create(token: NewTokenRequest): Promise<CreatedToken>
  list(): Promise<TokenView[]>
  revoke(id: string): Promise<void>
  close(): Promise<void>
}

export async function tokenAdmin(flags: { proxy?: string; data?: string }): Promise<TokenAdmin> {
  const database = flags.data ? join(flags.data, 'directory', 'metadata.sqlite') : undefined
  const ca = flags.data && database && existsSync(database) ? await loadCa(flags.data) : undefined
  if (ca && database) {
    // Loaded only here: the rest of the CLI never opens the directory's database.
    const { SqliteMetadataStore } = await import('../metadata/sqlite-store.ts')
    const { JoinService } = await import('../roles/directory/join-service.ts')
    const { systemClock } = await import('../server/clock.ts')
    const store = new SqliteMetadataStore(database)
    const service = new JoinService(store, ca, systemClock)
    return {
      create: (token) => service.create({ ...token, createdBy: 'local admin' }),
      list: () => service.list(),
      revoke: (id) => service.revoke(id),
      close: () => store.close(),
    }
  }
  const client = await connect(flags)
  return {
    create: (token) => client.createToken(token),
    list: () => client.listTokens(),
    revoke: async (id) => {
      await client.revokeToken(id)
    },
    close: () => client.close(),
  }
}
