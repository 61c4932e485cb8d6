// WebDAV properties of files and folders: the live ones dfs computes (size, ETag, dates, locks,
// quota) and the dead ones PROPPATCH keeps at the directory; and the 207 Multi-Status they go in.

import type { FileVersion, LockState } from '../../../protocol/types.ts'
import { etag } from '../send-file.ts'
import { baseName, hrefOf } from './paths.ts'
import { DAV, clark, emptyElement, escapeXml, type XmlElement } from './xml.ts'

/** What PROPFIND asked for. */
export type PropRequest =
  { kind: 'all'; include: string[] } | { kind: 'names' } | { kind: 'props'; keys: string[] }

/** A resource's facts the live properties are made of. */
export interface PropSubject {
  name: string
  folder: boolean
  file?: Pick<FileVersion, 'size' | 'sha256' | 'mtime'>
  /** Undefined when not looked up (a member of a listing not asked for its lock). */
  lock?: LockXml | null
  dead?: Record<string, string>
  quota?: { available: number; used: number }
}

/** A lock as lockdiscovery shows it; the token only to its holder. */
export interface LockXml {
  state: LockState
  token?: string
  owner?: string
  timeoutSeconds: number
}

export const LIVE: readonly string[] = [
  'displayname',
  'getcontentlength',
  'getetag',
  'getlastmodified',
  'creationdate',
  'resourcetype',
  'getcontenttype',
  'supportedlock',
  'lockdiscovery',
].map((name) => `{${DAV}}${name}`)
const QUOTA = [`{${DAV}}quota-available-bytes`, `{${DAV}}quota-used-bytes`]
/** Live properties no client may set (PROPPATCH answers 403 for them). */
export function isProtected(key: string): boolean {
  return key.startsWith(`{${DAV}}`)
}

export function propRequest(body: XmlElement | undefined): PropRequest {
  if (!body) return { kind: 'all', include: [] }
  if (body.children.some((c) => c.ns === DAV && c.name === 'propname')) return { kind: 'names' }
  const prop = body.children.find((c) => c.ns === DAV && c.name === 'prop')
  if (prop) return { kind: 'props', keys: prop.children.map(clark) }
  const include = body.children.find((c) => c.ns === DAV && c.name === 'include')
  return { kind: 'all', include: include ? include.children.map(clark) : [] }
}

/** One <D:response> for a resource: found properties under 200, missing ones under 404. */
export function propResponse(subject: PropSubject, request: PropRequest): string {
  const found: string[] = []
  const missing: string[] = []
  const keys =
    request.kind === 'props'
      ? request.keys
      : [...LIVE, ...Object.keys(subject.dead ?? {}), ...(request.kind === 'all' ? request.include : [])]
  for (const key of new Set(keys)) {
    const value = liveValue(subject, key) ?? subject.dead?.[key]
    if (value === undefined) {
      if (request.kind === 'props' || (request.kind === 'all' && request.include.includes(key)))
        missing.push(emptyElement(key))
    } else found.push(request.kind === 'names' ? emptyElement(key) : value)
  }
  return response(hrefOf(subject.name, subject.folder), [
    ...(found.length ? [propstat(found, 200)] : []),
    ...(missing.length ? [propstat(missing, 404)] : []),
  ])
}

export function response(href: string, propstats: string[]): string {
  return `<D:response><D:href>${escapeXml(href)}</D:href>${propstats.join('')}</D:response>`
}

export function propstat(props: string[], status: number): string {
  return `<D:propstat><D:prop>${props.join('')}</D:prop><D:status>HTTP/1.1 ${status} ${REASONS[status] ?? ''}</D:status></D:propstat>`
}

export function statusResponse(href: string, status: number): string {
  return `<D:response><D:href>${escapeXml(href)}</D:href><D:status>HTTP/1.1 ${status} ${REASONS[status] ?? ''}</D:status></D:response>`
}

export function multistatus(responses: string[]): string {
  return `<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="DAV:">${responses.join('')}</D:multistatus>\n`
}

const REASONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  412: 'Precondition Failed',
  423: 'Locked',
  424: 'Failed Dependency',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  507: 'Insufficient Storage',
}

export function reason(status: number): string {
  return REASONS[status] ?? ''
}

function liveValue(subject: PropSubject, key: string): string | undefined {
  const { file } = subject
  const d = (name: string, value: string) => `<D:${name}>${value}</D:${name}>`
  switch (key) {
    case `{${DAV}}displayname`:
      return subject.name === '' ? '<D:displayname/>' : d('displayname', escapeXml(baseName(subject.name)))
    case `{${DAV}}resourcetype`:
      return subject.folder ? '<D:resourcetype><D:collection/></D:resourcetype>' : '<D:resourcetype/>'
    case `{${DAV}}supportedlock`:
      return subject.folder ? '<D:supportedlock/>' : SUPPORTED_LOCK
    case `{${DAV}}lockdiscovery`:
      if (subject.folder) return '<D:lockdiscovery/>'
      return subject.lock === undefined ? undefined : lockDiscovery(subject.lock)
    case `{${DAV}}quota-available-bytes`:
      return subject.quota && d('quota-available-bytes', String(subject.quota.available))
    case `{${DAV}}quota-used-bytes`:
      return subject.quota && d('quota-used-bytes', String(subject.quota.used))
  }
  if (!file) return undefined
  switch (key) {
    case `{${DAV}}getcontentlength`:
      return d('getcontentlength', String(file.size))
    case `{${DAV}}getetag`:
      return d('getetag', escapeXml(etag(file.sha256)))
    case `{${DAV}}getlastmodified`:
      return d('getlastmodified', new Date(file.mtime).toUTCString())
    // dfs keeps when each version was written; a name's first version is not looked up for a listing.
    case `{${DAV}}creationdate`:
      return d('creationdate', new Date(file.mtime).toISOString())
    case `{${DAV}}getcontenttype`:
      return d('getcontenttype', contentTypeOf(subject.name))
  }
  return undefined
}

/** Quota properties are asked for by name only (RFC 4331: not part of allprop). */
export function wantsQuota(request: PropRequest): boolean {
  return request.kind === 'props' && request.keys.some((k) => QUOTA.includes(k))
}

export function wantsLock(request: PropRequest): boolean {
  return request.kind !== 'props' || request.keys.includes(`{${DAV}}lockdiscovery`)
}

/** Whether the request names dead properties (which cost the directory a call per resource). */
export function wantsDead(request: PropRequest): boolean {
  return request.kind !== 'props' || request.keys.some((k) => !LIVE.includes(k) && !QUOTA.includes(k))
}

const SUPPORTED_LOCK =
  '<D:supportedlock><D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry></D:supportedlock>'

export function lockDiscovery(lock: LockXml | null): string {
  if (!lock) return '<D:lockdiscovery/>'
  return `<D:lockdiscovery>${activeLock(lock)}</D:lockdiscovery>`
}

export function activeLock(lock: LockXml): string {
  const token = lock.token ? `<D:locktoken><D:href>${escapeXml(lock.token)}</D:href></D:locktoken>` : ''
  const owner = lock.owner ?? `<D:owner>${escapeXml(lock.state.user)}</D:owner>`
  return (
    '<D:activelock><D:locktype><D:write/></D:locktype><D:lockscope><D:exclusive/></D:lockscope>' +
    `<D:depth>0</D:depth>${owner}<D:timeout>Second-${lock.timeoutSeconds}</D:timeout>${token}</D:activelock>`
  )
}

const TYPES: Record<string, string> = {
  txt: 'text/plain',
  md: 'text/markdown',
  html: 'text/html',
  htm: 'text/html',
  css: 'text/css',
  csv: 'text/csv',
  js: 'text/javascript',
  json: 'application/json',
  xml: 'application/xml',
  pdf: 'application/pdf',
  zip: 'application/zip',
  gz: 'application/gzip',
  tar: 'application/x-tar',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  svg: 'image/svg+xml',
  webp: 'image/webp',
  mp3: 'audio/mpeg',
  mp4: 'video/mp4',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  odt: 'application/vnd.oasis.opendocument.text',
}

export function contentTypeOf(name: string): string {
  const dot = name.lastIndexOf('.')
  return (dot < 0 ? undefined : TYPES[name.slice(dot + 1).toLowerCase()]) ?? 'application/octet-stream'
}

/** Names a subject so a dead-property set can be found for it: a folder's ends in '/'. */
export function propsName(name: string, folder: boolean): string {
  return folder ? `${name}/` : name
}

export { clark }
