// The flags shared by the commands that start a role which joins a directory (fileserver, proxy).

import { Flags } from '@oclif/core'
import { duration } from './duration.ts'
import { DfsError } from '../protocol/errors.ts'
import { DEFAULT_DIRECTORY_URL } from '../server/data-root.ts'

/** Bring your own PKI, on every role: all three, or none (then nodes join with tokens). */
export const pkiFlags = {
  'ca-cert': Flags.string({
    description: 'your own CA certificate (PEM), instead of the cluster CA',
    dependsOn: ['cert', 'key'],
  }),
  cert: Flags.string({
    description:
      "this node's certificate (PEM), signed by --ca-cert, with subjectAltName URI:urn:dfs:<role>:<id>",
    dependsOn: ['ca-cert', 'key'],
  }),
  key: Flags.string({ description: "this node's private key (PEM)", dependsOn: ['ca-cert', 'cert'] }),
}

/** The files of --ca-cert/--cert/--key, if given. */
export function ownPki(flags: { 'ca-cert'?: string; cert?: string; key?: string }) {
  const { 'ca-cert': caCert, cert, key } = flags
  return caCert && cert && key ? { caCert, cert, key } : undefined
}

/**
 * The directories of a cluster as `--directory` (or DFS_DIRECTORY) takes them: one https URL, or
 * several (directories sharing one database) separated by commas, tried in that order. Without a
 * trailing slash. Checked by the command, not by oclif, so a mistake is one plain DFS_USAGE line.
 */
export function parseDirectoryUrls(text: string): string[] {
  const urls = text.split(',').map((entry) => entry.trim())
  const seen = new Set<string>()
  for (const [i, entry] of urls.entries()) {
    const url = URL.canParse(entry) ? new URL(entry) : undefined
    if (url?.protocol !== 'https:' || url.username || url.password || url.search || url.hash) {
      throw new DfsError(
        'DFS_USAGE',
        `--directory: not an https URL: ${entry === '' ? '(empty)' : entry.slice(0, 200)} (give https://HOST:PORT, or several separated by commas)`,
      )
    }
    const plain = `${url.origin}${url.pathname}`.replace(/\/+$/, '')
    if (seen.has(plain)) throw new DfsError('DFS_USAGE', `--directory: ${plain} is given twice`)
    seen.add(plain)
    urls[i] = plain
  }
  return urls
}

/** pino's levels, most to least severe. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export const logFlags = {
  'log-level': Flags.string({
    description: 'what the log says: info has a line a request; debug adds clients that went away',
    options: [...LOG_LEVELS],
    default: 'info',
    env: 'DFS_LOG',
  }),
}

export const memberFlags = {
  ...pkiFlags,
  ...logFlags,
  port: Flags.integer({
    description: 'port to listen on (0: any free port)',
    required: true,
    min: 0,
    max: 65535,
  }),
  host: Flags.string({ description: 'address to bind', default: '127.0.0.1' }),
  advertise: Flags.string({ description: 'host name others use to reach this one' }),
  directory: Flags.string({
    description:
      'directory URL; or several, separated by commas (directories sharing one database), to fail over between',
    default: DEFAULT_DIRECTORY_URL,
    env: 'DFS_DIRECTORY',
  }),
  data: Flags.string({ description: 'data root (default: $DFS_DATA, or ~/.local/share/dfs)' }),
  'renew-every': duration({
    description:
      "how often to check whether this node's certificate is due for renewal (a third of its life left)",
    default: 12 * 3_600_000,
  }),
  join: Flags.string({
    description:
      "join token (dfs token create) for the first start; not needed beside the directory's --data, or once joined",
    env: 'DFS_JOIN',
  }),
}
