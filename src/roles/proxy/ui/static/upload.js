// @ts-check
// Uploads with progress. XMLHttpRequest because it reports how much of the body has been sent
// (fetch does not); the body is the File itself, which the browser streams from disk. Replacing a
// name takes its lock first, as `dfs put --force` does, so a concurrent writer is never overwritten.

import { ApiError, authHeaders, errorOf, request, withQuery } from './api.js'

/**
 * PUTs `file` as `name`; `onProgress(sent, total)` as the body goes out. The committed version.
 * @param {string} name @param {File} file
 * @param {{ replace: boolean, onProgress: (sent: number, total: number) => void }} options
 * @returns {Promise<import('./api-types.js').FileVersion>}
 */
export async function upload(name, file, options) {
  if (!options.replace)
    return put(withQuery('/v1/files', { name, length: file.size }), file, options.onProgress)
  /** @type {import('./api-types.js').HeldLeaseView} */
  const lock = await request('POST', '/v1/locks', { body: { name, wait: 10_000 } })
  try {
    return await put(
      withQuery('/v1/files', { name, lease: lock.key, create: true, length: file.size }),
      file,
      options.onProgress,
    )
  } finally {
    await request('POST', '/v1/locks/release', { body: { name, lease: lock.key } }).catch(() => undefined)
  }
}

/**
 * @param {string} url @param {File} file @param {(sent: number, total: number) => void} onProgress
 * @returns {Promise<import('./api-types.js').FileVersion>}
 */
function put(url, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('PUT', url)
    for (const [key, value] of Object.entries(authHeaders())) xhr.setRequestHeader(key, value)
    xhr.setRequestHeader('content-type', 'application/octet-stream')
    xhr.upload.addEventListener('progress', (event) =>
      onProgress(event.loaded, event.lengthComputable ? event.total : file.size),
    )
    xhr.addEventListener('error', () => reject(new ApiError('DFS_UNAVAILABLE', 'the upload was cut off', 0)))
    xhr.addEventListener('abort', () =>
      reject(new ApiError('DFS_UNAVAILABLE', 'the upload was cancelled', 0)),
    )
    xhr.addEventListener('load', () => {
      const response = new Response(xhr.responseText, { status: xhr.status, statusText: xhr.statusText })
      if (xhr.status >= 200 && xhr.status < 300) resolve(response.json())
      else errorOf(response).then(reject, reject)
    })
    xhr.send(file)
  })
}
