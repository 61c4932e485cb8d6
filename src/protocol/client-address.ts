// The end user's network address, as a proxy saw it, passed on to the directory for its login
// throttle and audit log. One rule for what such an address may look like, checked wherever one
// arrives (a header, a login body, a commit).

import { isIP } from 'node:net'

/** The header a proxy puts the end user's address in on every call it makes for them. */
export const CLIENT_HEADER = 'dfs-client'

/** IPv4, or IPv6 with an optional zone (fe80::1%eth0): the shapes of Node's `request.ip`. */
export const CLIENT_ADDRESS_SCHEMA = {
  type: 'string',
  maxLength: 64,
  pattern: '^[0-9A-Fa-f.:]+(%[A-Za-z0-9_.-]+)?$',
} as const

export function isClientAddress(text: string): boolean {
  return text.length <= CLIENT_ADDRESS_SCHEMA.maxLength && isIP(text) !== 0
}
