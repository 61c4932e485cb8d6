// One scrub pass over every blob a file server holds, paced to a byte rate. A blob that fails does
// not stop the pass; the pass then fails once, naming how many failed and the first reason, which
// becomes the scrub job's last error in `dfs status`.

import { reason } from '../../server/logger.ts'
import type { FileServerService } from './service.ts'

export async function scrubAll(service: FileServerService, bytesPerSecond: number): Promise<void> {
  let scrubbed = 0
  let failed = 0
  let first = ''
  for await (const sha256 of service.store.list()) {
    const started = Date.now()
    scrubbed++
    try {
      const size = (await service.store.size(sha256)) ?? 0
      await service.scrub(sha256)
      const due = (size / bytesPerSecond) * 1000 - (Date.now() - started)
      if (due > 0) await new Promise((resolve) => setTimeout(resolve, due))
    } catch (error) {
      if (failed++ === 0) first = `${sha256}: ${reason(error)}`
    }
  }
  if (failed > 0) throw new Error(`${failed} of ${scrubbed} blobs failed; first: ${first}`)
}
