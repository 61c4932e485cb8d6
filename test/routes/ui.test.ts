// The web dashboard's routes: /ui/ serves the page and every file it loads, with the right types and
// the headers that keep it to its own scripts; nothing else under /ui/ exists; no login is needed.
// And what the bundles serve (scripts/embed-ui.ts) is byte for byte what the sources serve.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { build } from 'esbuild'
import type { FastifyInstance } from 'fastify'
import { embedUi } from '../../scripts/embed-ui.ts'
import { uiFiles } from '../../src/roles/proxy/ui/assets.ts'
import { testProxy, type TestProxy } from '../helpers/proxy-app.ts'

/** The files a page or script loads: src/href of index.html, `from './x.js'` of scripts. */
function references(name: string, text: string): string[] {
  if (name.endsWith('.html')) return [...text.matchAll(/(?:src|href)="([^"#]+)"/g)].map((m) => m[1]!)
  if (name.endsWith('.js'))
    return [...text.matchAll(/^import [^'"]*'\.\/([^']+)'/gm)]
      .map((m) => m[1]!)
      .filter((f) => !f.endsWith('-types.js'))
  return []
}

describe('the dashboard at /ui/', () => {
  let proxy: TestProxy
  let app: FastifyInstance

  before(async () => {
    proxy = await testProxy()
    app = proxy.app
  })
  after(async () => {
    await proxy.close()
  })

  test('/ui redirects to /ui/, which is the page, with a strict policy and no login', async () => {
    const bare = await app.inject({ url: '/ui' })
    assert.equal(bare.statusCode, 301)
    assert.equal(bare.headers.location, '/ui/')
    const page = await app.inject({ url: '/ui/' })
    assert.equal(page.statusCode, 200)
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8')
    assert.equal(page.body, uiFiles().get('index.html'))
    const csp = String(page.headers['content-security-policy'])
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "frame-ancestors 'none'",
      "connect-src 'self'",
    ])
      assert.ok(csp.split('; ').includes(directive), `${directive} in ${csp}`)
    assert.ok(!csp.includes('unsafe'), csp)
    assert.equal(page.headers['x-content-type-options'], 'nosniff')
    assert.equal(page.headers['referrer-policy'], 'no-referrer')
  })

  test('every file the page loads is served with its type; the page has no inline script or style', async () => {
    const files = uiFiles()
    const types: Record<string, string> = {
      js: 'text/javascript; charset=utf-8',
      css: 'text/css; charset=utf-8',
      html: 'text/html; charset=utf-8',
      svg: 'image/svg+xml',
    }
    const wanted = new Set<string>()
    for (const [name, text] of files) for (const ref of references(name, text)) wanted.add(ref)
    assert.ok(
      wanted.has('app.js') && wanted.has('favicon.svg') && wanted.has('sse.js'),
      [...wanted].join(' '),
    )
    for (const ref of wanted) {
      const response = await app.inject({ url: `/ui/${ref}` })
      assert.equal(response.statusCode, 200, ref)
      assert.equal(response.headers['content-type'], types[ref.split('.').pop()!], ref)
      assert.equal(response.headers['x-content-type-options'], 'nosniff', ref)
    }
    const html = files.get('index.html')!
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)/, 'an inline script')
    assert.doesNotMatch(html, /\sstyle=|\son[a-z]+=/, 'an inline style or handler')
    for (const [name, text] of files)
      assert.doesNotMatch(text, /innerHTML|outerHTML|insertAdjacentHTML|document\.write/, name)
  })

  test('nothing else under /ui/ exists, and the 404 keeps the headers', async () => {
    const inside = ['/ui/nope.js', '/ui/static/app.js', '/ui/app.js/x', '/ui/assets.ts', '/ui/index.html.bak']
    // Dot segments are resolved before routing: these ask for /package.json, and /uix is no /ui.
    const outside = ['/ui/../package.json', '/ui/%2e%2e/package.json', '/uix']
    for (const url of [...inside, ...outside]) {
      const response = await app.inject({ url })
      assert.equal(response.statusCode, 404, url)
      assert.equal(response.json().error.code, 'DFS_NOT_FOUND', url)
      if (inside.includes(url)) assert.equal(response.headers['x-content-type-options'], 'nosniff', url)
    }
    const head = await app.inject({ method: 'HEAD', url: '/ui/app.js' })
    assert.equal(head.statusCode, 200)
  })
})

test('the bundles embed exactly the files the sources serve', async () => {
  const result = await build({
    stdin: {
      contents: "export { uiFiles } from './src/roles/proxy/ui/assets.ts'",
      resolveDir: new URL('../..', import.meta.url).pathname,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    write: false,
    plugins: [embedUi()],
  })
  const code = result.outputFiles[0]!.text
  assert.doesNotMatch(code, /readdirSync|readFileSync/, 'the bundle reads no files at run time')
  const bundled = (await import(
    `data:text/javascript,${encodeURIComponent(code)}`
  )) as typeof import('../../src/roles/proxy/ui/assets.ts')
  assert.deepEqual([...bundled.uiFiles()], [...uiFiles()])
  assert.ok(uiFiles().size >= 10, `${uiFiles().size} files`)
})
