// What the clients did and what they may therefore see: every write attempted per name, in order, with
// its outcome. A read must return the bytes of a write of that name, and not one older than a write
// acknowledged before the read began; at the end a name must hold its last acknowledged write, or a
// later write whose client saw a failure but whose commit went through (an indeterminate outcome).

import { sha256 } from '../helpers/files.ts'

export interface WriteRecord {
  id: number
  name: string
  sha256: string
  size: number
  startedAt: number
  endedAt?: number
  outcome: 'pending' | 'acked' | 'failed'
}

export type ReadVerdict =
  { ok: true; write: WriteRecord } | { ok: false; kind: 'corrupt' | 'stale'; detail: string }

export type FinalVerdict = { ok: true; write?: WriteRecord; unacked: boolean } | { ok: false; detail: string }

export class History {
  private readonly byName = new Map<string, WriteRecord[]>()
  private readonly bySha = new Map<string, WriteRecord>()

  beginWrite(id: number, name: string, data: Buffer, now: number): WriteRecord {
    const record: WriteRecord = {
      id,
      name,
      sha256: sha256(data),
      size: data.length,
      startedAt: now,
      outcome: 'pending',
    }
    const list = this.byName.get(name) ?? []
    list.push(record)
    this.byName.set(name, list)
    this.bySha.set(record.sha256, record)
    return record
  }

  endWrite(record: WriteRecord, acked: boolean, now: number): void {
    record.outcome = acked ? 'acked' : 'failed'
    record.endedAt = now
  }

  names(): string[] {
    return [...this.byName.keys()].sort()
  }

  writes(name: string): readonly WriteRecord[] {
    return this.byName.get(name) ?? []
  }

  /** Whose bytes these are, if any client ever tried to write them. */
  writeOf(sha: string): WriteRecord | undefined {
    return this.bySha.get(sha)
  }

  /** The last write of `name` acknowledged before `time`, if any. */
  ackedBefore(name: string, time: number): WriteRecord | undefined {
    return this.writes(name).findLast((w) => w.outcome === 'acked' && (w.endedAt ?? Infinity) < time)
  }

  checkRead(name: string, startedAt: number, data: Buffer): ReadVerdict {
    const sha = sha256(data)
    const writes = this.writes(name)
    const index = writes.findIndex((w) => w.sha256 === sha && w.size === data.length)
    const write = writes[index]
    if (!write) {
      const other = this.writeOf(sha)
      return {
        ok: false,
        kind: 'corrupt',
        detail: `read of ${name} returned ${data.length} bytes (sha256 ${sha}) that no client wrote to it${
          other ? ` (they are write ${other.id} of ${other.name})` : ''
        }; first line: ${JSON.stringify(data.subarray(0, 80).toString('latin1').split('\n')[0])}`,
      }
    }
    const floor = this.ackedBefore(name, startedAt)
    if (floor && index < writes.indexOf(floor)) {
      return {
        ok: false,
        kind: 'stale',
        detail: `read of ${name} returned write ${write.id}, older than write ${floor.id} acknowledged before the read began`,
      }
    }
    return { ok: true, write }
  }

  /** What a name holds once all is quiet: `sha` (undefined: the name does not exist). */
  checkFinal(name: string, sha: string | undefined): FinalVerdict {
    const writes = this.writes(name)
    const lastAcked = writes.findLastIndex((w) => w.outcome === 'acked')
    // Later writes failed at their client; any of them may still have committed.
    const allowed = writes.slice(Math.max(lastAcked, 0)).filter((w) => w.outcome !== 'pending')
    if (sha === undefined) {
      return lastAcked < 0
        ? { ok: true, unacked: false }
        : { ok: false, detail: `${name} is gone, but write ${writes[lastAcked]?.id} of it was acknowledged` }
    }
    const write = allowed.find((w) => w.sha256 === sha)
    if (write) return { ok: true, write, unacked: write.outcome !== 'acked' }
    const acked = writes[lastAcked]
    const other = this.writeOf(sha)
    return {
      ok: false,
      detail: `${name} holds sha256 ${sha}${other ? ` (write ${other.id} of ${other.name}, ${other.outcome})` : ''}, not ${
        acked ? `its last acknowledged write ${acked.id} (${acked.sha256})` : 'anything written to it'
      } nor a later unacknowledged one`,
    }
  }
}
