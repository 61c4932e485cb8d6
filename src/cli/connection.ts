// How a user command reaches the cluster: the proxy from --proxy, $DFS_PROXY or the saved login; the
// CA from $DFS_CA, the saved login, or the local data root; the session from the saved login or
// $DFS_USER/$DFS_PASSWORD.

import { readFile } from 'node:fs/promises'
import { ProxyClient } from '../client/proxy-client.ts'
import { DfsError } from '../protocol/errors.ts'
import { dataRoot } from '../server/data-root.ts'
import { networkFailure } from '../client/network-failure.ts'
import { readCaCert } from '../tls/ca-files.ts'
import { discoverCa, presentedCas } from '../tls/discovery.ts'
import { showFingerprint } from '../tls/join-token.ts'
import { checkProxyUrl } from './proxy-url.ts'
import { readSettings } from './saved-settings.ts'

export interface ConnectOptions {
  proxy?: string
  data?: string
}

export async function resolveProxy(flag?: string): Promise<string> {
  const url = flag ?? process.env.DFS_PROXY ?? (await readSettings()).proxy
  if (!url) {
    throw new DfsError('DFS_USAGE', 'no proxy known: start one with dfs up, or give --proxy URL / DFS_PROXY')
  }
  return checkProxyUrl(url)
}

export async function resolveCa(proxyUrl: string, data?: string): Promise<string> {
  if (process.env.DFS_CA) return readFile(process.env.DFS_CA, 'utf8')
  const settings = await readSettings()
  // The CA saved with the login is the right one for that proxy; for another proxy, the local data
  // root's CA (a cluster on this machine) comes first, then the saved one (another proxy of the
  // same cluster).
  const sameProxy = settings.proxy === proxyUrl
  const local = await readCaCert(dataRoot(data))
  const ca = sameProxy ? (settings.ca ?? local) : (local ?? settings.ca)
  if (!ca) {
    throw new DfsError(
      'DFS_USAGE',
      `no cluster CA known for ${proxyUrl}: run dfs login --proxy ${proxyUrl} (or give --data, or set DFS_CA to the cluster's ca.crt)`,
    )
  }
  return ca
}

/**
 * The CA `dfs login` trusts, the way ssh trusts a host: the one given by fingerprint (checked against
 * what the proxy presents), else one already known here, else, on first contact, the one the proxy
 * presents once the user has seen its fingerprint and said yes. A script gives --ca-fingerprint.
 */
export async function trustCa(
  proxyUrl: string,
  options: { data?: string; fingerprint?: string },
): Promise<string> {
  if (options.fingerprint) return discoverCa(proxyUrl, options.fingerprint)
  try {
    return await resolveCa(proxyUrl, options.data)
  } catch (error) {
    if (!(error instanceof DfsError && error.code === 'DFS_USAGE')) throw error
  }
  const [presented] = await presentedCas(proxyUrl).catch((error: unknown) => {
    throw networkFailure(`proxy ${proxyUrl}`, error)
  })
  if (!presented)
    throw new DfsError('DFS_CA_MISMATCH', `${proxyUrl} presents no CA certificate: not a dfs proxy?`)
  const shown = showFingerprint(presented.fingerprint)
  // The prompt (node:readline) loads only when there is a question to ask.
  const { confirm } = await import('./prompt.ts')
  if (await confirm(`The cluster CA of ${proxyUrl} has fingerprint\n  SHA256 ${shown}\nTrust it?`))
    return presented.pem
  throw new DfsError(
    'DFS_USAGE',
    `${proxyUrl} is a cluster this machine has not seen; its CA is SHA256 ${shown}: if that is the one, run dfs login --ca-fingerprint ${shown}`,
  )
}

/**
 * A client of the proxy with a live session. A saved session is reused; with $DFS_USER and
 * $DFS_PASSWORD a script logs in when it has no session for that user yet (or it expired), and the
 * session is saved, so a loop of commands does not pay for a password check on every call.
 */
export async function connect(options: ConnectOptions): Promise<ProxyClient> {
  const url = await resolveProxy(options.proxy)
  const ca = await resolveCa(url, options.data)
  const client = new ProxyClient(url, ca)
  const settings = await readSettings()
  const envUser = process.env.DFS_USER
  const envPassword = process.env.DFS_PASSWORD
  // Sessions belong to the cluster, not to one proxy: a login through one proxy works through all.
  const saved = settings.token
  const savedFor = settings.user
  if (saved && (!envUser || envUser === savedFor)) {
    client.useToken(saved)
    if (!envUser || !envPassword) return client
    try {
      await client.whoami()
      return client
    } catch (error) {
      if (!(error instanceof DfsError && error.code === 'DFS_AUTH')) throw error
    }
  }
  if (envUser && envPassword) {
    const session = await client.login(envUser, envPassword)
    client.useToken(session.token)
    const { openSettings } = await import('./settings.ts')
    openSettings().set({ proxy: url, user: envUser, token: session.token, ca })
    return client
  }
  throw new DfsError('DFS_AUTH', `not logged in to ${url}: run dfs login (or set DFS_USER and DFS_PASSWORD)`)
}
