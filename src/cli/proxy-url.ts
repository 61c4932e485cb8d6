// What a proxy address must look like, wherever one comes from (--proxy, $DFS_PROXY, the saved
// setting): one https:// origin, so a session token never goes out in the clear or to a path.

import { DfsError } from '../protocol/errors.ts'

/** The URL without its trailing slash, or DFS_USAGE naming what was given. */
export function checkProxyUrl(url: string): string {
  if (!/^https:\/\/[^/\s]+\/?$/.test(url))
    throw new DfsError('DFS_USAGE', `a proxy is an https:// URL, not ${url}`)
  return url.replace(/\/$/, '')
}
