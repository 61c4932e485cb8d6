// The embedded SQLite store keeps the MetadataStore contract.

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteMetadataStore } from '../../src/metadata/sqlite-store.ts'
import { collectionsContract } from './metadata-store-collections.ts'
import { metadataStoreContract, type StoreUnderTest } from './metadata-store.ts'

async function open(): Promise<StoreUnderTest> {
  const dir = await mkdtemp(join(tmpdir(), 'dfs-contract-'))
  const store = new SqliteMetadataStore(join(dir, 'metadata.sqlite'))
  return {
    store,
    destroy: async () => {
      await store.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

metadataStoreContract('SQLite', open)
collectionsContract('SQLite', open)
