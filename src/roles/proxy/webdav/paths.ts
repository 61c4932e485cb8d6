// Where a WebDAV URL points in the dfs namespace: /dav/a/b.txt is the name a/b.txt, /dav/a/ the
// "folder" a/ (names are flat; folders are their prefixes), /dav/ everything. Every name rule of dfs
// applies to what a URL decodes to.

import { DfsError } from '../../../protocol/errors.ts'
import { normaliseName } from '../../../protocol/names.ts'

export const MOUNT = '/dav'

/** A WebDAV resource's place: a name (a file, or a folder's prefix without its slash) or the root. */
export interface DavPath {
  /** The dfs name, '' for the root. */
  name: string
  /** The URL ended in '/': a folder is meant. */
  slash: boolean
}

/** The path of a request URL under the mount (query dropped). */
export function davPath(url: string): DavPath {
  const path = url.split('?')[0]!
  if (path !== MOUNT && !path.startsWith(`${MOUNT}/`))
    throw new DfsError('DFS_NOT_FOUND', `not under ${MOUNT}/`)
  const rest = path.slice(MOUNT.length)
  let decoded: string
  try {
    decoded = decodeURIComponent(rest)
  } catch {
    throw new DfsError('DFS_BAD_NAME', `the URL is not valid percent-encoded UTF-8: ${rest}`)
  }
  const trimmed = decoded.replace(/^\/+/, '')
  if (trimmed.replace(/\/+$/, '') === '') return { name: '', slash: true }
  return { name: normaliseName(trimmed), slash: decoded.endsWith('/') }
}

/** The path of a Destination header: an absolute URL on this server, or an absolute path. */
export function destinationPath(header: string | undefined, host: string | undefined): DavPath {
  if (!header) throw new DfsError('DFS_BAD_REQUEST', 'COPY and MOVE need a Destination header')
  let url: URL
  try {
    url = new URL(header, `https://${host ?? 'localhost'}`)
  } catch {
    throw new DfsError('DFS_BAD_REQUEST', `the Destination is not a URL: ${header}`)
  }
  if (host !== undefined && url.host !== host) {
    throw new DfsError('DFS_BAD_DESTINATION', `the Destination is on another server: ${url.host}`)
  }
  try {
    return davPath(url.pathname)
  } catch (error) {
    if (error instanceof DfsError && error.code === 'DFS_NOT_FOUND')
      throw new DfsError('DFS_BAD_DESTINATION', `the Destination is not under ${MOUNT}/: ${url.pathname}`)
    throw error
  }
}

/** The href of a name (a folder's ends in '/'), each segment percent-encoded. */
export function hrefOf(name: string, folder: boolean): string {
  if (name === '') return `${MOUNT}/`
  const encoded = name.split('/').map(encodeURIComponent).join('/')
  return `${MOUNT}/${encoded}${folder ? '/' : ''}`
}

/** The prefix of the names inside a folder: 'a/b/' for 'a/b', '' for the root. */
export function prefixOf(name: string): string {
  return name === '' ? '' : `${name}/`
}

/** The folder a name is in ('' for the root). */
export function parentOf(name: string): string {
  const slash = name.lastIndexOf('/')
  return slash < 0 ? '' : name.slice(0, slash)
}

export function baseName(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1)
}
