// JSON schemas shared by more than one role's routes, or describing a shape from types.ts.

import { CLIENT_ADDRESS_SCHEMA } from './client-address.ts'
import { JOB_MESSAGE_MAX } from './types.ts'

/** `?name=` on routes about one file; the name itself is checked by normaliseName. */
export const nameQuery = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', maxLength: 4096 } },
} as const

export const loginBody = {
  type: 'object',
  required: ['user', 'password'],
  additionalProperties: false,
  properties: {
    user: { type: 'string', maxLength: 64 },
    password: { type: 'string', maxLength: 1024 },
  },
} as const

/** A proxy's login call to the directory: the user's, with the address it came from (for throttling). */
export const proxyLoginBody = {
  ...loginBody,
  properties: { ...loginBody.properties, client: CLIENT_ADDRESS_SCHEMA },
} as const

/** `dfs audit`: whose entries, since when (ms since the epoch), how many of the newest. */
export const auditQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    user: { type: 'string', maxLength: 64 },
    since: { type: 'integer', minimum: 0 },
    limit: { type: 'integer', minimum: 1, maximum: 10_000 },
  },
} as const

const jobError = {
  type: 'object',
  required: ['at', 'message'],
  additionalProperties: false,
  properties: {
    at: { type: 'integer', minimum: 0 },
    message: { type: 'string', maxLength: JOB_MESSAGE_MAX },
  },
} as const

/** A JobState: a background job's last good run and last failure. */
export const jobState = {
  type: 'object',
  additionalProperties: false,
  properties: { lastOk: { type: 'integer', minimum: 0 }, lastError: jobError },
} as const

const userName = { type: 'string', maxLength: 64 } as const
const passwordText = { type: 'string', maxLength: 1024 } as const

/** A password change: one's own (with the current one), or an admin's for `user`. */
export const passwdBody = {
  type: 'object',
  required: ['password'],
  additionalProperties: false,
  properties: { user: userName, current: passwordText, password: passwordText },
} as const

/** A user an admin adds. */
export const newUserBody = {
  type: 'object',
  required: ['user', 'password'],
  additionalProperties: false,
  properties: { user: userName, password: passwordText, admin: { type: 'boolean' } },
} as const

export const userBody = {
  type: 'object',
  required: ['user'],
  additionalProperties: false,
  properties: { user: userName },
} as const

/** Members added to or removed from a group (none: the whole group, on removal). */
export const groupBody = {
  type: 'object',
  required: ['group'],
  additionalProperties: false,
  properties: {
    group: userName,
    users: { type: 'array', items: userName, maxItems: 1000, uniqueItems: true },
  },
} as const

/** chmod/chown of a name, or of a prefix's rule (a name ending in '/'). */
export const permsBody = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  minProperties: 2,
  properties: {
    name: { type: 'string', maxLength: 4096 },
    mode: { type: 'string', maxLength: 64 },
    owner: userName,
    group: userName,
  },
} as const

/** A page of a listing: names under `prefix` after the cursor `after`, `limit` at most. */
export const listQuery = {
  type: 'object',
  properties: {
    prefix: { type: 'string', maxLength: 4096 },
    after: { type: 'string', maxLength: 4096 },
    limit: { type: 'integer', minimum: 1, maximum: 10_000 },
    // Only '/' splits names into levels.
    delimiter: { type: 'string', enum: ['/'] },
  },
} as const

export interface ListQuery {
  prefix?: string
  after?: string
  limit?: number
  /** Immediate children only: the names directly under `prefix`, and the prefixes one level down. */
  delimiter?: '/'
}
