// The work of `dfs write`, apart from oclif: run by the write command and by the quick path alike.

import { LEASE_KEY } from '../protocol/lease-key.ts'
import { normaliseName } from '../protocol/names.ts'
import type { FileVersion } from '../protocol/types.ts'
import type { CommandContext } from './command-context.ts'
import { HeldLease } from './lease.ts'
import { describe, upload } from './upload.ts'

export interface WriteInput {
  name: string
  create: boolean
  wait: number
  ttl: number
  quiet: boolean
  proxy?: string
  data?: string
}

/** Replaces `name` with stdin under its write lock: the enclosing `dfs lock`'s, else one taken here. */
export async function writeFile(input: WriteInput, context: CommandContext): Promise<FileVersion> {
  const name = normaliseName(input.name)
  const client = await context.proxy(input)
  const inherited = inheritedLease(name)
  const lease =
    inherited === undefined ? await HeldLease.acquire(client, name, input.wait, input.ttl) : undefined
  try {
    const { version, shown } = await upload(client, '-', name, {
      show: !context.json && !input.quiet,
      lease: inherited ?? lease?.key,
      create: input.create,
    })
    if (!shown) context.say(describe(version))
    return version
  } finally {
    await lease?.release()
  }
}

/** The lease key of an enclosing `dfs lock` on the same name, passed down through the environment. */
function inheritedLease(name: string): string | undefined {
  const lockedName = process.env.DFS_LOCK_NAME
  const key = process.env.DFS_LOCK_TOKEN
  if (!lockedName || !key || !LEASE_KEY.test(key)) return undefined
  return normaliseName(lockedName) === name ? key : undefined
}
