// @ts-check
// Calls to the proxy's JSON API with the session's bearer token. The token lives in sessionStorage:
// gone when the tab closes, never in a cookie (so no other site can make the browser send it) and
// never in a URL (so it lands in no log or history).

const TOKEN_KEY = 'dfs-token'
const USER_KEY = 'dfs-user'

/** An error answer of the API: `code` is its DFS_* code. */
export class ApiError extends Error {
  /** @param {string} code @param {string} message @param {number} status */
  constructor(code, message, status) {
    super(message)
    this.code = code
    this.status = status
  }
}

/** Called when the proxy says the session is over (DFS_AUTH), so the page can ask to log in again. */
let onSignedOut = () => {}

/** @param {() => void} handler */
export function whenSignedOut(handler) {
  onSignedOut = handler
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY)
}

export function signedInUser() {
  return sessionStorage.getItem(USER_KEY)
}

/** @param {string} user @param {string} password */
export async function logIn(user, password) {
  /** @type {import('./api-types.js').Session} */
  const session = await request('POST', '/v1/login', { body: { user, password }, anonymous: true })
  sessionStorage.setItem(TOKEN_KEY, session.token)
  sessionStorage.setItem(USER_KEY, session.user)
  return session
}

export async function logOut() {
  try {
    if (token()) await request('POST', '/v1/logout', { body: {} })
  } finally {
    forget()
  }
}

export function forget() {
  sessionStorage.removeItem(TOKEN_KEY)
  sessionStorage.removeItem(USER_KEY)
}

/** `path` with `query`'s defined values as its query string. @param {string} path @param {Record<string, string | number | boolean | undefined>} query */
export function withQuery(path, query) {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value))
  const text = params.toString()
  return text ? `${path}?${text}` : path
}

/** The Authorization header of this session. */
export function authHeaders() {
  /** @type {Record<string, string>} */
  const headers = {}
  const current = token()
  if (current) headers.authorization = `Bearer ${current}`
  return headers
}

/**
 * One call; the parsed JSON answer, or an ApiError.
 * @param {string} method @param {string} path
 * @param {{ body?: unknown, anonymous?: boolean, signal?: AbortSignal }} [options]
 * @returns {Promise<any>} the route's JSON (typed by each caller)
 */
export async function request(method, path, options = {}) {
  /** @type {Record<string, string>} */
  const headers = options.anonymous ? {} : authHeaders()
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(path, {
    method,
    headers,
    cache: 'no-store',
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    ...(options.signal ? { signal: options.signal } : {}),
  })
  if (!response.ok) throw await errorOf(response)
  return response.json()
}

/** The ApiError of a failed response; a lost session also signs the page out. @param {Response} response */
export async function errorOf(response) {
  let code = 'DFS_INTERNAL'
  let message = `${response.status} ${response.statusText}`
  try {
    const body = await response.json()
    if (body?.error?.code) ({ code, message } = body.error)
  } catch {
    // Not the API's error shape (a proxy in between, say): the status line says enough.
  }
  if (code === 'DFS_AUTH' && token()) {
    forget()
    onSignedOut()
  }
  return new ApiError(code, message, response.status)
}

/** A message for a person, from anything thrown. @param {unknown} error */
export function describe(error) {
  if (error instanceof ApiError) return `${error.message} (${error.code})`
  return error instanceof Error ? error.message : String(error)
}
