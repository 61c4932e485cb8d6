// How `dfs get` checks what its proxy sends: each block against the version's block list (asked of
// the proxy by sha256, so it is the list of exactly the bytes being sent), so not one bad byte
// reaches a pipe; and how a byte range is asked for so that it starts and ends on block bounds,
// the only places a block can be checked.

import type { IncomingMessage } from 'node:http'
import { createHash } from 'node:crypto'
import { Writable } from 'node:stream'
import type { ProxyClient } from '../client/proxy-client.ts'
import { BLOCK_SIZE, blockDigests, hasBlockList } from '../protocol/blocks.ts'
import { requestedRange } from '../protocol/byte-range.ts'
import { DfsError } from '../protocol/errors.ts'
import type { ByteRange } from '../streams/block-check.ts'
import { memoryGuard } from '../streams/bounded-memory.ts'
import { checkedWriter, type Put } from '../streams/checked-writer.ts'

export interface CheckedBody {
  /**
   * Where to pipe the body: it gives `put` the bytes of the file in `range`, in order, each block
   * only once it is checked.
   */
  sink(put: Put): Writable
  /** The file's size, and the bytes of it the stream gives. */
  fileSize: number
  range: ByteRange
  sha256: string
  /** Bytes that have gone on so far. */
  passed(): number
}

/**
 * The Range header to send for the bytes `flag` asks for (`START-END`, `START-` or `-COUNT`): widened
 * to whole blocks. A suffix needs the file's size first (`size`).
 */
export function alignedRangeHeader(flag: string, size?: number): string {
  const [first = '', last = ''] = flag.split('-')
  if (first === '') {
    if (size === undefined) throw new DfsError('DFS_INTERNAL', 'a suffix range needs the size')
    const start = Math.max(0, size - Number(last))
    return `bytes=${start - (start % BLOCK_SIZE)}-`
  }
  const start = Number(first)
  const end = last === '' ? '' : String((Math.floor(Number(last) / BLOCK_SIZE) + 1) * BLOCK_SIZE - 1)
  return `bytes=${start - (start % BLOCK_SIZE)}-${end}`
}

/** Wraps a download's body in the check its headers and the block list call for. */
export async function checkedBody(
  client: ProxyClient,
  name: string,
  response: IncomingMessage,
  wanted: string | undefined,
): Promise<CheckedBody> {
  const sha256 = String(response.headers['dfs-sha256'] ?? '')
  const served = servedRange(response)
  const range = wanted === undefined ? served.range : requestedRange(wanted, served.size)
  // A suffix was widened with the size `dfs stat` gave; a new version since may not fit it.
  if (
    !range ||
    range.start - (range.start % BLOCK_SIZE) !== served.range.start ||
    range.end > served.range.end
  )
    throw new DfsError('DFS_CONFLICT', `${name} changed while it was being read; try again`)
  let digests: Buffer[] | undefined
  if (hasBlockList(served.size)) {
    const list = await client.blocks(name, sha256)
    digests =
      list.blocks === undefined ? undefined : blockDigests({ sha256, size: served.size, blocks: list.blocks })
  } else {
    digests = blockDigests({ sha256, size: served.size })
  }
  let passed = 0
  const what = `${name} (sha256 ${sha256})`
  const sink = (put: Put): Writable => {
    const counted: Put = (bytes) => {
      passed += bytes.length
      return put(bytes)
    }
    // A version written before lists were kept is checked whole, at the end (only whole reads can be).
    return digests
      ? checkedWriter(digests, served.size, range, what, counted)
      : wholeCheck(sha256, served, range, what, counted)
  }
  return { sink, fileSize: served.size, range, sha256, passed: () => passed }
}

/** The bytes a response holds (206: its Content-Range; 200: all) and the file's size. */
function servedRange(response: IncomingMessage): { range: ByteRange; size: number } {
  const header = response.headers['content-range']
  if (response.statusCode === 206 && typeof header === 'string') {
    const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header)
    if (match) {
      const size = Number(match[3])
      return { range: { start: Number(match[1]), end: Number(match[2]) + 1 }, size }
    }
  }
  const size = Number(response.headers['content-length'])
  if (!Number.isSafeInteger(size)) throw new DfsError('DFS_INTERNAL', 'the proxy sent no length')
  return { range: { start: 0, end: size }, size }
}

function wholeCheck(
  sha256: string,
  served: { range: ByteRange; size: number },
  range: ByteRange,
  what: string,
  put: Put,
): Writable {
  const whole = served.range.start === 0 && served.range.end === served.size
  const hash = createHash('sha256')
  const guard = memoryGuard()
  let offset = served.range.start
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      guard(chunk.length)
      if (whole) hash.update(chunk)
      const from = Math.max(range.start - offset, 0)
      const to = Math.min(range.end - offset, chunk.length)
      offset += chunk.length
      if (to <= from) return callback()
      put(chunk.subarray(from, to)).then(() => callback(), callback)
    },
    final(callback) {
      if (whole && hash.digest('hex') !== sha256)
        return callback(new DfsError('DFS_CORRUPT', `received bytes of ${what} do not match`))
      callback()
    },
  })
}
