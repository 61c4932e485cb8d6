// Waiting for a condition in tests, never for a fixed time: polls until `check` gives a value (not
// false or undefined), or fails naming what it waited for.

import { setTimeout as sleep } from 'node:timers/promises'

export async function eventually<T>(
  what: string,
  check: () => Promise<T | false | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}
