// An https URL of a loopback port nobody listens on (connections to it are refused): a directory
// that is down, for failover tests.

import { createServer } from 'node:net'

export async function deadUrl(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return `https://127.0.0.1:${port}`
}
