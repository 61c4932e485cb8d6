// The work of `dfs put`, apart from oclif: run by the put command and by the quick path alike.

import type { FileVersion } from '../protocol/types.ts'
import { normaliseName } from '../protocol/names.ts'
import type { CommandContext } from './command-context.ts'
import { HeldLease } from './lease.ts'
import { describe, upload } from './upload.ts'

export interface PutInput {
  local: string
  name: string
  force: boolean
  wait: number
  ttl: number
  quiet: boolean
  proxy?: string
  data?: string
}

export async function putFile(input: PutInput, context: CommandContext): Promise<FileVersion> {
  const name = normaliseName(input.name)
  const client = await context.proxy(input)
  const show = !context.json && !input.quiet
  const lease = input.force ? await HeldLease.acquire(client, name, input.wait, input.ttl) : undefined
  try {
    const { version, shown } = await upload(client, input.local, name, {
      show,
      lease: lease?.key,
      create: true,
    })
    if (!shown) context.say(describe(version))
    return version
  } finally {
    await lease?.release()
  }
}
