// Seeded randomness for the chaos suite: every choice a run makes comes from one 32-bit seed, so a
// printed seed replays the same schedule. mulberry32: tiny, fast, and plenty for picking test moves.

export class Prng {
  private state: number

  constructor(seed: number) {
    this.state = seed >>> 0
  }

  /** A uniform float in [0, 1). */
  next(): number {
    return this.uint32() / 2 ** 32
  }

  uint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  chance(probability: number): boolean {
    return this.next() < probability
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list')
    return items[Math.floor(this.next() * items.length)] as T
  }

  /** The items in a seeded order (Fisher-Yates), leaving the input alone. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items]
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1))
      ;[out[i], out[j]] = [out[j] as T, out[i] as T]
    }
    return out
  }

  /** Log-uniform in [min, max]: small and large values are both common. */
  logUniform(min: number, max: number): number {
    return Math.min(max, Math.floor(min * (max / min) ** this.next()))
  }
}

/**
 * The bytes of one write, determined by its seed and size alone, so nothing needs to be kept in memory
 * to check a read later. A readable first line says which write they are, for whoever reads a failure.
 */
export function content(label: string, seed: number, size: number): Buffer {
  const out = Buffer.alloc(size)
  const header = Buffer.from(`dfs chaos ${label} seed=${seed} size=${size}\n`)
  header.copy(out, 0, 0, Math.min(header.length, size))
  const words = new Uint32Array(Math.ceil(size / 4))
  const prng = new Prng(seed)
  for (let i = 0; i < words.length; i++) words[i] = prng.uint32()
  const noise = Buffer.from(words.buffer, 0, size)
  if (header.length < size) noise.copy(out, header.length, header.length)
  return out
}
