// How commands name a node: `3` or `fileserver:3` for a file server, `proxy:2` for a proxy.

import { DfsError } from '../protocol/errors.ts'

export function parseNodeRef(text: string): { role: 'fileserver' | 'proxy'; id: number } {
  const match = /^(?:(fileserver|proxy):)?([1-9]\d{0,6})$/.exec(text.trim())
  if (!match?.[2]) throw new DfsError('DFS_USAGE', `not a node: ${text} (3, fileserver:3 or proxy:2)`)
  return { role: (match[1] as 'fileserver' | 'proxy' | undefined) ?? 'fileserver', id: Number(match[2]) }
}
