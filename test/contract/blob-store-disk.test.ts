// The disk BlobStore keeps the BlobStore contract.

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DiskBlobStore } from '../../src/storage/disk-blob-store.ts'
import { blobStoreContract } from './blob-store.ts'

blobStoreContract('disk', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dfs-blobs-'))
  return {
    store: new DiskBlobStore(dir),
    reopen: async () => new DiskBlobStore(dir),
    destroy: () => rm(dir, { recursive: true, force: true }),
  }
})
