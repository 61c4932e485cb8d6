// Callback promises: a change waits for every proxy holding a promise to acknowledge it, or for that
// promise to run out; a new epoch waits the same way and grants nothing to a proxy behind it. And the
// proxy's trusted names: forgotten on change, never learned from an answer a change overtook.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { CallbackTable } from '../../src/roles/directory/callbacks.ts'
import { CallbackPromise } from '../../src/roles/proxy/callback-promise.ts'
import { TrustedNames, type TrustedVersion } from '../../src/roles/proxy/trusted-names.ts'

const state = (promise: Promise<void>) =>
  Promise.race([promise.then(() => 'settled'), sleep(20).then(() => 'waiting')])

describe('callback promises', () => {
  test('a change waits for every holder to acknowledge it', async () => {
    const table = new CallbackTable({ now: () => Date.now() }, 10_000)
    assert.deepEqual(table.ack(1, 5, 1), { validForMs: 10_000, epoch: 1 })
    table.ack(2, 5, 1)
    assert.equal(table.active(), true)
    const change = table.settled(6)
    assert.equal(await state(change), 'waiting')
    table.ack(1, 6, 1)
    assert.equal(await state(change), 'waiting', 'proxy 2 has not acknowledged')
    table.ack(2, 7, 1)
    assert.equal(await state(change), 'settled')
    const next = table.settled(7)
    assert.equal(await state(next), 'waiting', 'proxy 1 is at 6')
    table.ack(1, 7, 1)
    assert.equal(await state(next), 'settled')
    table.close()
  })

  test('a holder that goes quiet holds a change up only until its promise runs out', async () => {
    const table = new CallbackTable({ now: () => Date.now() }, 150)
    table.ack(1, 0, 1)
    const started = Date.now()
    await table.settled(1)
    const waited = Date.now() - started
    assert.ok(waited >= 100 && waited < 2000, `waited ${waited} ms`)
    assert.equal(table.active(), false)
    assert.equal(await state(table.settled(2)), 'settled', 'no promise left to wait for')
    table.close()
  })

  test('a new epoch waits for acknowledgements under it, and a proxy behind it gets no promise', async () => {
    const table = new CallbackTable({ now: () => Date.now() }, 10_000)
    const heard: number[] = []
    table.onEpoch((epoch) => heard.push(epoch))
    table.ack(1, 3, 1)
    const epoch = table.newEpoch()
    assert.deepEqual(heard, [2])
    const change = table.settled(0, epoch)
    assert.deepEqual(table.ack(1, 3, 1), { validForMs: 0, epoch: 2 })
    assert.equal(await state(change), 'waiting')
    assert.equal(table.ack(1, 3, 2).validForMs, 10_000)
    assert.equal(await state(change), 'settled')
    table.close()
  })

  test("a write's own proxy is not waited for: it hears of the change from the answer", async () => {
    const table = new CallbackTable({ now: () => Date.now() }, 10_000)
    table.ack(1, 5, 1)
    table.ack(2, 5, 1)
    const change = table.settled(6, table.epoch, 1)
    assert.equal(await state(change), 'waiting', 'proxy 2 has not acknowledged')
    table.ack(2, 6, 1)
    assert.equal(await state(change), 'settled', "proxy 1, the writer's, is still at 5")
    assert.equal(await state(table.settled(6)), 'waiting', 'any other change waits for proxy 1')
    table.close()
  })

  test('with promises off (directories sharing a store) nothing is granted and nothing waits', async () => {
    const table = new CallbackTable({ now: () => Date.now() }, 0)
    assert.equal(table.ack(1, 3, 1).validForMs, 0)
    assert.equal(table.active(), false)
    assert.equal(await state(table.settled(100)), 'settled')
  })
})

describe("the proxy's side of the promise", () => {
  const promise = () =>
    new CallbackPromise({
      clock: { now: () => Date.now() },
      ack: async () => ({ validForMs: 10_000, epoch: 1 }),
      forgetTrusted: () => undefined,
      log: { warn: () => undefined },
    })

  test('an upload waits for the feed to bring its own change, or for the feed to go down', async () => {
    const feed = promise()
    feed.connect(5)
    assert.equal(await feed.reached(5, 10_000), true, 'applied already')
    const waiting = feed.reached(7, 10_000)
    feed.applied(6)
    assert.equal(await Promise.race([waiting, sleep(20).then(() => 'waiting')]), 'waiting')
    feed.applied(7)
    assert.equal(await waiting, true)
    const lost = feed.reached(8, 10_000)
    feed.disconnect()
    assert.equal(await lost, true, 'nothing is trusted once the feed is down')
    feed.connect(8)
    assert.equal(await feed.reached(9, 30), false, 'a feed that never brings it: given up on')
    feed.stop()
  })
})

describe('trusted names', () => {
  const version = (name: string, v = 1): TrustedVersion => ({
    name,
    version: v,
    sha256: 'a'.repeat(64),
    size: 1,
    owner: 'u',
    group: 'g',
    mode: 0o644,
    servers: [],
    primary: 1,
  })

  test('learned, forgotten on change, and not learned from an answer a change overtook', () => {
    const names = new TrustedNames()
    names.learn(version('a'), names.asking())
    assert.equal(names.get('a')?.version, 1)
    names.changed('a', 2)
    assert.equal(names.get('a'), undefined)
    const asked = names.asking()
    names.changed('a', 3) // while the answer was on its way
    names.learn(version('a', 2), asked)
    assert.equal(names.get('a'), undefined)
    const own = names.asking()
    names.changed('a', 4) // our own write, heard of before its answer
    names.learn(version('a', 4), own)
    assert.equal(names.get('a')?.version, 4)
    names.changed('a', -1)
    const other = names.asking()
    names.changed('b', 1)
    names.learn(version('a', 3), other)
    assert.equal(names.get('a')?.version, 3, 'a change to another name does not matter')
    const before = names.asking()
    names.forgetAll()
    assert.equal(names.get('a'), undefined)
    names.learn(version('c'), before)
    assert.equal(names.get('c'), undefined, 'asked before everything was forgotten')
  })
})
