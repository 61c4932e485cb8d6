// Password hashing with scrypt at N=2^14, r=8, p=5: one of the settings OWASP's password storage
// cheat sheet lists as equivalent in the defence they give (with N=2^17, r=8, p=1, which this used
// before), and the one that needs least memory, 16 MiB a hash instead of 128 MiB: the directory
// must stay under 150 MB however many log in (issue 13). The stored string carries its own
// parameters, so an account hashed with others still logs in, and one hashed with weaker ones is
// rehashed with these (needsRehash). Hashes run two at a time at most, so a burst of logins takes
// 32 MiB, not the directory's memory.

import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

const N = 2 ** 14
const R = 8
const P = 5
const KEY_LENGTH = 32
const MAX_AT_ONCE = 2
/** scrypt needs 128 * N * r bytes; a stored hash asking for more than this is refused. */
const MAX_MEMORY = 256 * 1024 * 1024

export const MIN_PASSWORD_LENGTH = 8

/** A hash made with weaker parameters than today's: rehash it at the next right password. */
export function needsRehash(stored: string): boolean {
  const parts = parse(stored)
  return !parts || parts.n < N || parts.r < R || parts.p < P
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

function parse(stored: string): { n: number; r: number; p: number; salt: Buffer; key: Buffer } | undefined {
  const [scheme, n, r, p, salt, key] = stored.split('$')
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !key) return undefined
  return {
    n: Number(n),
    r: Number(r),
    p: Number(p),
    salt: Buffer.from(salt, 'base64'),
    key: Buffer.from(key, 'base64'),
  }
}

/** Hashes and checks passwords, a few at a time (one per directory process). */
export class PasswordHasher {
  private running = 0
  private readonly queue: (() => void)[] = []

  async hash(password: string): Promise<string> {
    const salt = randomBytes(16)
    const key = await this.derive(password, salt, N, R, P)
    return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`
  }

  async verify(password: string, stored: string): Promise<boolean> {
    const parts = parse(stored)
    if (!parts) return false
    const actual = await this.derive(password, parts.salt, parts.n, parts.r, parts.p)
    return actual.length === parts.key.length && timingSafeEqual(actual, parts.key)
  }

  /**
   * The work a login does for a user name that does not exist, so that a wrong name costs as much
   * as a wrong password and timing tells nothing.
   */
  async burn(password: string): Promise<void> {
    await this.derive(password, Buffer.alloc(16), N, R, P)
  }

  private async derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
    if (this.running >= MAX_AT_ONCE) await new Promise<void>((resolve) => this.queue.push(resolve))
    this.running++
    try {
      return await new Promise((resolve, reject) => {
        scrypt(password, salt, KEY_LENGTH, { N: n, r, p, maxmem: MAX_MEMORY }, (error, key) =>
          error ? reject(error) : resolve(key),
        )
      })
    } finally {
      this.running--
      this.queue.shift()?.()
    }
  }
}
