// Answers a read of a file: the verified bytes (the whole, or the range asked for), with the headers
// a client needs to check and resume them; or 304 when the client's copy (If-None-Match) is current.
// Shared by the API (GET /v1/files) and the WebDAV gateway (GET /dav/...).

import type { FastifyReply, FastifyRequest } from 'fastify'
import { pipeline } from 'node:stream'
import { contentRange } from '../../protocol/byte-range.ts'
import { boundedMemory } from '../../streams/bounded-memory.ts'
import { isHangUp } from '../../server/app.ts'
import type { Caller, Download, ProxyService } from './service.ts'

export interface SendOptions {
  offline?: boolean
  /** The media type to answer with (WebDAV: by the name's extension). */
  contentType?: string
  /** Answer with Last-Modified, from the version's time. */
  lastModified?: boolean
}

export function etag(sha256: string): string {
  return `"${sha256}"`
}

export async function sendFile(
  service: ProxyService,
  request: FastifyRequest,
  reply: FastifyReply,
  caller: Caller,
  name: string,
  options: SendOptions = {},
): Promise<void> {
  const wanted = request.headers['if-none-match']
  if (wanted && !options.offline) {
    // The client already has some version: if it is the current one, no bytes need to move.
    const current = await service.current(caller, name)
    if (wanted === etag(current.sha256)) {
      return void reply.status(304).header('etag', wanted).header('dfs-version', current.version).send()
    }
  }
  // If-Range: the range is wanted only of the version the client names; of any other, the whole.
  const ifRange = headerValue(request.headers['if-range'])
  const range = ifRange === undefined || ifRange.startsWith('"') ? request.headers.range : undefined
  const offline = options.offline === undefined ? {} : { offline: options.offline }
  let download: Download = await service.download(caller, name, {
    ...offline,
    ...(range === undefined ? {} : { range }),
  })
  const { file } = download
  const tag = etag(file.sha256)
  const partial = download.range && (ifRange === undefined || ifRange === tag) ? download.range : undefined
  if (download.range && !partial) {
    // If-Range named another version: this one goes whole (the range was read for nothing).
    download.body.destroy()
    download = await service.download(caller, name, offline)
  }
  void reply
    .header('etag', tag)
    .header('accept-ranges', 'bytes')
    .header('dfs-sha256', file.sha256)
    .header('dfs-version', file.version)
    .header('dfs-served-by', String(download.from))
    .header('content-length', partial ? partial.end - partial.start : file.size)
    .type(options.contentType ?? 'application/octet-stream')
  if (partial) void reply.header('content-range', contentRange(partial, file.size))
  if (download.stale) void reply.header('dfs-stale', 'true')
  if (options.lastModified && file.mtime !== undefined)
    void reply.header('last-modified', new Date(file.mtime).toUTCString())
  reply.hijack()
  reply.raw.writeHead(partial ? 206 : 200, reply.getHeaders() as Record<string, string>)
  // A HEAD gets the headers only: Node would drop the body's bytes, but only after reading them all.
  if (request.method === 'HEAD') {
    download.body.destroy()
    return void reply.raw.end()
  }
  // A small file read whole from the cache goes in one write, without a stream.
  if (download.bytes && !partial) return void reply.raw.end(download.bytes)
  // A bad block no holder can replace cuts the connection: the client sees a short, failed transfer.
  const cut = (error: Error) => {
    if (isHangUp(error) || reply.raw.destroyed)
      request.log.debug(`download cut: the client went away (${error.message})`)
    else request.log.warn({ err: error }, 'download cut')
  }
  if (download.send) {
    download.send(reply.raw).then(
      () => reply.raw.end(),
      (error: Error) => {
        cut(error)
        reply.raw.destroy()
      },
    )
    return
  }
  pipeline(download.body, boundedMemory(), reply.raw, (error) => {
    if (error) cut(error)
  })
}

/** A header sent once; one sent several times counts as absent. */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined
}
