// The settings `dfs config` reads and writes (src/cli/settings.ts keeps them): how `list` shows each
// (a secret never in full), how `set` checks a value, and what a change makes stale.

import { DfsError } from '../protocol/errors.ts'
import { fingerprint } from '../tls/ca-files.ts'
import { checkProxyUrl } from './proxy-url.ts'
import type { Settings } from './settings.ts'

export type SettingKey = keyof Settings

interface Rule {
  /** Checks and normalises a value for `dfs config set`; absent: only dfs login saves it. */
  parse?: (value: string) => string
  /** How `dfs config list` shows the value. */
  show: (value: string) => string
  /** A secret: `dfs config get` does not print it either. */
  secret?: boolean
  /** Saved with this one and meaningless without it: forgotten when it changes. */
  forgets?: SettingKey[]
}

const RULES: Record<SettingKey, Rule> = {
  proxy: { parse: checkProxyUrl, show: (url) => url },
  // A session is one user's: naming another user ends the use of it here.
  user: { parse: checkUserName, show: (user) => user, forgets: ['token'] },
  token: { show: () => '(saved)', secret: true },
  ca: { show: caFingerprint },
}

export const SETTING_KEYS = Object.keys(RULES) as SettingKey[]

/** The keys `dfs config set` takes. */
export const SETTABLE_KEYS = SETTING_KEYS.filter((key) => RULES[key].parse)

export function settingKey(key: string): SettingKey {
  if (Object.hasOwn(RULES, key)) return key as SettingKey
  throw new DfsError('DFS_USAGE', `unknown setting ${key}; the settings are ${SETTING_KEYS.join(', ')}`)
}

export function parseSetting(key: SettingKey, value: string): string {
  const { parse } = RULES[key]
  if (!parse)
    throw new DfsError(
      'DFS_USAGE',
      `${key} is saved by dfs login, not set by hand; the settings to set are ${SETTABLE_KEYS.join(', ')}`,
    )
  return parse(value)
}

export function showSetting(key: SettingKey, value: string): string {
  return RULES[key].show(value)
}

/** The value itself, as `dfs config get` prints it for scripts: never a secret. */
export function revealSetting(key: SettingKey, value: string): string {
  if (RULES[key].secret)
    throw new DfsError(
      'DFS_USAGE',
      `the ${key} is not printed: dfs logout ends the session, dfs config unset ${key} forgets it here`,
    )
  return value
}

export function forgottenWith(key: SettingKey): SettingKey[] {
  return RULES[key].forgets ?? []
}

function checkUserName(user: string): string {
  if (!/^\S{1,64}$/.test(user))
    throw new DfsError('DFS_USAGE', `a user name is 1 to 64 characters without spaces, not ${user}`)
  return user
}

/** The CA by its fingerprint, as dfs login showed it: the PEM is long and says nothing to a reader. */
function caFingerprint(pem: string): string {
  try {
    return `SHA256 ${fingerprint(pem)}`
  } catch {
    return '(not a certificate: dfs config unset ca, then dfs login)'
  }
}
