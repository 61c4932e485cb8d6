// HTTP written by hand over a TLS connection that trusts only the cluster CA, for clients no library
// would be: slow, oversized, malformed, or lying about their length. Tells what the server answered
// first, and when it closed the connection.

import { isIP } from 'node:net'
import { connect, type TLSSocket } from 'node:tls'

export interface RawAnswer {
  /** Status of the first answer; undefined if the server closed without one. */
  status?: number
  headers: Record<string, string>
  /** The first answer's body, parsed if JSON. */
  body: unknown
  /** From connecting to the server's close. */
  closedAfterMs: number
}

/** Connects, lets `talk` write (it may go on writing as it likes), and waits for the server to close. */
export function rawExchange(
  url: string,
  ca: string,
  talk: (socket: TLSSocket) => void | Promise<void>,
): Promise<RawAnswer> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const received: Buffer[] = []
    const servername = isIP(hostname) ? undefined : hostname
    const socket = connect({ host: hostname, port: Number(port), servername, ca }, () => {
      Promise.resolve(talk(socket)).catch(reject)
    })
    socket.on('data', (chunk: Buffer) => received.push(chunk))
    // A reset after the answer is the server closing on a client that was still sending.
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') reject(error)
    })
    socket.on('close', () =>
      resolve({ ...parse(Buffer.concat(received)), closedAfterMs: Date.now() - started }),
    )
  })
}

function parse(raw: Buffer): Omit<RawAnswer, 'closedAfterMs'> {
  const end = raw.indexOf('\r\n\r\n')
  if (end < 0) return { headers: {}, body: undefined }
  const [statusLine = '', ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n')
  const headers = Object.fromEntries(
    lines.map((line) => {
      const colon = line.indexOf(':')
      return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]
    }),
  )
  const length = Number(headers['content-length'] ?? 0)
  const bodyText = raw.subarray(end + 4, end + 4 + length).toString('utf8')
  let body: unknown = bodyText
  try {
    body = JSON.parse(bodyText)
  } catch {
    // Not JSON: kept as text.
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body }
}

/** The DFS_* code of an error body. */
export function codeOf(answer: RawAnswer): string | undefined {
  return (answer.body as { error?: { code?: string } } | undefined)?.error?.code
}

export function messageOf(answer: RawAnswer): string {
  return (answer.body as { error?: { message?: string } } | undefined)?.error?.message ?? ''
}
