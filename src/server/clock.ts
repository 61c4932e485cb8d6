// Time and randomness enter through these, so tests and the chaos harness can run seeded.

import { randomBytes, randomInt } from 'node:crypto'

export interface Clock {
  now(): number
}

export interface Random {
  /** A uniform float in [0, 1). */
  next(): number
  token(bytes: number): string
}

export const systemClock: Clock = { now: () => Date.now() }

export const systemRandom: Random = {
  next: () => randomInt(0, 2 ** 47) / 2 ** 47,
  token: (bytes) => randomBytes(bytes).toString('base64url'),
}
