// The chaos suite (issue #6): a seeded schedule of crashes, pauses and rotten blobs against a real
// cluster while clients write and read. CHAOS_SEED replays a run (the seed is printed at the start and
// in every failure); CHAOS_ROUNDS sets its length: short in `npm test`, 200 in `npm run test:chaos`.

import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomInt } from 'node:crypto'
import { ChaosRun, formatSummary, SCHEDULE } from './harness.ts'
import { planRounds } from './schedule.ts'

const seed = whole('CHAOS_SEED', randomInt(2 ** 32))
const rounds = whole('CHAOS_ROUNDS', 12)
const replay = `CHAOS_SEED=${seed} CHAOS_ROUNDS=${rounds}`

console.log(`chaos: seed ${seed}, ${rounds} rounds (replay with ${replay})`)

test('the schedule comes from the seed alone, and has every kind of fault', () => {
  assert.deepEqual(planRounds(seed, 20, SCHEDULE), planRounds(seed, 20, SCHEDULE))
  assert.notDeepEqual(planRounds(seed, 20, SCHEDULE), planRounds(seed + 1, 20, SCHEDULE))
  const kinds = new Set(
    planRounds(seed, 200, SCHEDULE)
      .flatMap((r) => r.faults)
      .map((f) => (f.kind === 'corrupt' ? f.kind : `${f.kind} ${f.target.role}`)),
  )
  for (const role of ['fileserver', 'directory', 'proxy'])
    for (const kind of ['kill', 'pause'])
      assert.ok(kinds.has(`${kind} ${role}`), `seed ${seed}: no ${kind} ${role}`)
  assert.ok(kinds.has('corrupt'), `seed ${seed}: no corruption`)
})

describe(`chaos, seed ${seed}`, () => {
  let run: ChaosRun | undefined

  after(async () => {
    await run?.close()
    if (run) console.log(formatSummary(run.summary))
  })

  test(
    'every acknowledged write reads back byte for byte; no read returns bytes never written; copies heal',
    { timeout: 120_000 + rounds * 30_000 },
    async () => {
      run = await ChaosRun.start({ seed, rounds, log: (line) => console.log(`chaos: ${line}`) })
      try {
        await run.execute()
      } catch (error) {
        throw new Error(`seed ${seed} (replay with ${replay}): ${(error as Error).message}`, { cause: error })
      }
      assert.deepEqual(
        run.problems,
        [],
        `seed ${seed} (replay with ${replay}): ${run.problems.length} problems`,
      )
      assert.equal(run.summary.corruptReads, 0, `seed ${seed}: corrupt reads`)
      assert.equal(run.summary.writesLost, 0, `seed ${seed}: lost writes`)
      assert.ok(run.summary.writesAcked > 0, `seed ${seed}: no write was acknowledged at all`)
    },
  )
})

function whole(variable: string, fallback: number): number {
  const text = process.env[variable]
  if (text === undefined || text === '') return fallback
  const value = Number(text)
  if (!Number.isSafeInteger(value) || value < 0 || value >= 2 ** 32)
    throw new Error(`${variable} must be a whole number below 2^32, not ${text}`)
  return value
}
