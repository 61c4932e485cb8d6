// The web dashboard in a real browser (Debian's chromium through playwright-core) against a real
// cluster: log in, see the file servers, upload with progress, see the change in the live feed,
// download the same bytes (by a one-use link, so neither the bytes pass through the page nor the
// token through a URL), see a lock and its line, restore a version, kill a file server and watch it
// marked dead, its files under-replicated and then repaired, and the upload and download rates
// charted. The browser trusts the cluster CA through its NSS database (test/helpers/browser.ts); no
// certificate error is ignored. Screenshots of each page go to a folder printed in the output.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { Agent, request } from 'undici'
import { ProxyClient } from '../../src/client/proxy-client.ts'
import { caCertPath } from '../../src/tls/ca-files.ts'
import { browserMissing, launchBrowser, type TrustingBrowser } from '../helpers/browser.ts'
import { TestCluster } from '../helpers/cluster.ts'
import { eventually } from '../helpers/eventually.ts'
import { sha256 } from '../helpers/files.ts'

const missing = browserMissing()
if (missing) console.log(`dashboard test skipped: ${missing}`)

// A name that would be markup if the page ever put names into HTML.
const ODD = `odd/<img src=x onerror="window.pwned=1">&'.txt`
const WAIT = 30_000

describe('the web dashboard in a browser', { skip: missing }, () => {
  let cluster: TestCluster
  let trusting: TrustingBrowser
  let page: Page
  let shots: string
  let agent: Agent
  const problems: string[] = []
  const urls: string[] = []
  /** What the page asked for, as `METHOD path resource-type`. */
  const asked: string[] = []
  const failed: string[] = []
  const first = randomBytes(300 * 1024 + 7)
  const second = randomBytes(64 * 1024)

  const shot = async (name: string) => {
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true })
  }
  const go = async (hash: string) => {
    await page.click(`nav a[href="#${hash}"]`)
    await page.locator(`#${hash}`).waitFor({ state: 'visible' })
  }
  const text = (selector: string) => page.locator(selector).innerText()

  before(async () => {
    cluster = await TestCluster.start({
      fileservers: 3,
      liveAfter: 2,
      // Dead three seconds after the last heartbeat; repair only when the page asks for a pass, so
      // the under-replicated state stays long enough to be seen.
      directoryArgs: ['--dead-after', '3s', '--repair-every', '1h'],
    })
    // The first user to log in (here, through the CLI) registers and is the cluster's admin.
    const odd = await cluster.run(['put', '-', ODD], { input: 'odd bytes' })
    assert.equal(odd.code, 0, odd.stderr)
    shots = await mkdtemp(join(tmpdir(), 'dfs-dashboard-screenshots-'))
    console.log('screenshots in', shots)
    trusting = await launchBrowser(caCertPath(cluster.data))
    agent = new Agent({ connect: { ca: readFileSync(caCertPath(cluster.data), 'utf8') } })
    page = await trusting.browser.newPage({ viewport: { width: 1200, height: 900 }, acceptDownloads: true })
    page.setDefaultTimeout(WAIT)
    // Failed loads are counted from the responses, which name their URL (the console does not).
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
        problems.push(`console: ${message.text()}`)
    })
    page.on('response', (response) => {
      if (response.status() >= 400) failed.push(`${response.status()} ${new URL(response.url()).pathname}`)
    })
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
    page.on('request', (request) => {
      urls.push(request.url())
      asked.push(`${request.method()} ${new URL(request.url()).pathname} ${request.resourceType()}`)
    })
  })
  after(async () => {
    await agent?.close()
    await trusting?.close()
    await cluster?.stop()
  })

  test('a browser without the cluster CA is refused: the trust is the CA, not an ignored error', async () => {
    const untrusting = await launchBrowser(undefined)
    try {
      const other = await untrusting.browser.newPage()
      await assert.rejects(other.goto(`${cluster.proxy}/ui/`), /ERR_CERT_AUTHORITY_INVALID/)
    } finally {
      await untrusting.close()
    }
  })

  test('/ui redirects to the page, which logs in and shows three live file servers', async () => {
    const response = await page.goto(`${cluster.proxy}/ui`)
    assert.equal(new URL(page.url()).pathname, '/ui/')
    assert.equal(response?.status(), 200)
    await page.locator('#login-page').waitFor({ state: 'visible' })
    await shot('0-login')
    await page.fill('#login-user', 'tester')
    await page.fill('#login-password', 'wrong password')
    await page.click('#login-form button[type=submit]')
    await page.locator('#login-error', { hasText: 'DFS_AUTH' }).waitFor()
    await page.fill('#login-password', 'test-password')
    await page.press('#login-password', 'Enter')
    await page.locator('#cluster').waitFor({ state: 'visible' })
    await page.locator('#servers tbody tr[data-state=live]').nth(2).waitFor()
    assert.equal(await page.locator('#servers tbody tr').count(), 3)
    assert.match(await text('#whoami'), /tester/)
    assert.equal(await page.locator('#space-chart svg rect').count(), 3, 'a bar per file server')
    assert.match(await text('#directory-info'), /connected/)
    assert.match(await text('#proxies'), /proxy 1 \(this one\)/)
    await shot('1-cluster')
  })

  test('an upload shows its progress, lands in the listing and in the live feed', async () => {
    await go('feed')
    await page.locator('#feed-state[data-state=connected]').waitFor()
    await go('files')
    await page.locator('#listing tbody tr[data-prefix="odd/"]').waitFor()
    await page.setInputFiles('#upload-file', {
      name: 'first.bin',
      mimeType: 'application/octet-stream',
      buffer: first,
    })
    await page.click('#upload-form button[type=submit]')
    await page.locator('#upload-status', { hasText: 'Uploaded first.bin as v1' }).waitFor()
    assert.equal(await page.locator('#upload-progress').evaluate((p: HTMLProgressElement) => p.value), 1)
    await page.locator('#listing tbody tr[data-name="first.bin"]').waitFor()
    const stat = await cluster.stat('first.bin')
    assert.equal(stat.sha256, sha256(first))
    await shot('2-files')

    await go('feed')
    await page.locator('#feed-list tbody tr[data-name="first.bin"][data-type=put]').waitFor()
    // A change made elsewhere (the CLI) arrives too, and its name shows as text, never as markup.
    const other = await cluster.run(['put', '-', 'odd/from-the-cli.txt'], { input: 'cli' })
    assert.equal(other.code, 0, other.stderr)
    await page.locator('#feed-list tbody tr[data-name="odd/from-the-cli.txt"]').waitFor()
    await shot('3-feed')
  })

  test('a download gives the same bytes; a name with markup in it shows as itself', async () => {
    await go('files')
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('#listing tbody tr[data-name="first.bin"] button:has-text("Download")'),
    ])
    assert.equal(download.suggestedFilename(), 'first.bin')
    assert.equal(sha256(await readFile(await download.path())), sha256(first))
    // The browser fetched the bytes itself, by a one-use link the page asked for with its token: the
    // page never read GET /v1/files, so the file never passed through its memory.
    assert.deepEqual(
      asked.filter((a) => a.startsWith('GET /v1/files')),
      [],
    )
    assert.ok(asked.includes('POST /v1/download-tickets fetch'), asked.join('\n'))
    const link = download.url()
    urls.push(link)
    assert.equal(new URL(link).pathname, '/v1/download')
    assert.match(new URL(link).search, /^\?name=first\.bin&ticket=[A-Za-z0-9_-]{43}$/)
    // Spent by that one use: the same link again (here from outside the browser) is refused.
    const again = await request(link, { dispatcher: agent })
    assert.equal(again.statusCode, 401)
    assert.equal(((await again.body.json()) as { error: { code: string } }).error.code, 'DFS_AUTH')

    await page.click('#listing tbody tr[data-prefix="odd/"] button')
    const odd = page
      .locator('#listing tbody tr')
      .filter({ hasText: `<img src=x onerror="window.pwned=1">&'.txt` })
    await odd.waitFor()
    assert.equal(await page.locator('#listing img').count(), 0, 'the name became an element')
    assert.equal(await page.evaluate(() => (window as { pwned?: number }).pwned), undefined)
    await odd.locator('button').first().click()
    await page.locator('#details-title', { hasText: ODD }).waitFor()
    await page.click('#breadcrumbs button:has-text("top")')
    await page.locator('#listing tbody tr[data-name="first.bin"]').waitFor()
  })

  test('a file shows who holds its lock and how many wait; versions can be restored', async () => {
    const bob = await cluster.run(['status'], { env: cluster.as('bob') })
    assert.equal(bob.code, 0, bob.stderr)
    const client = new ProxyClient(cluster.proxy, readFileSync(caCertPath(cluster.data), 'utf8'))
    client.useToken((await client.login('bob', 'bob-password')).token)
    const held = await client.acquire('first.bin', 0, 60_000)
    const waiter = new ProxyClient(cluster.proxy, readFileSync(caCertPath(cluster.data), 'utf8'))
    waiter.useToken((await waiter.login('bob', 'bob-password')).token)
    const queued = waiter.acquire('first.bin', 60_000, 60_000)
    await page.click('#listing tbody tr[data-name="first.bin"] button.link')
    await eventually('the lock and its line to show', async () => {
      await page.click('#listing tbody tr[data-name="first.bin"] button.link')
      return /held by bob \(proxy 1\).*1 waiting/.test(await text('#details-lock'))
    })
    await shot('4-file-details-locked')
    await client.release('first.bin', held.key)
    const next = await queued
    await waiter.release('first.bin', next.key)

    // A second version through the page (replacing takes the lock), then the first restored.
    await page.setInputFiles('#upload-file', {
      name: 'first.bin',
      mimeType: 'application/octet-stream',
      buffer: second,
    })
    await page.check('#upload-replace')
    await page.click('#upload-form button[type=submit]')
    await page.locator('#upload-status', { hasText: 'Uploaded first.bin as v2' }).waitFor()
    await page.click('#listing tbody tr[data-name="first.bin"] button.link')
    await page.locator('#versions tbody tr[data-version="1"]').waitFor()
    assert.match(await text('#details-lock'), /not locked/)
    await page.click('#versions button:has-text("Restore v1")')
    await page.locator('#versions-status', { hasText: 'Restored v1 of first.bin as v3' }).waitFor()
    const now = await cluster.stat('first.bin')
    assert.equal(now.version, 3)
    assert.equal(now.sha256, sha256(first))
    await shot('5-file-versions')
  })

  test('a killed file server is marked dead; its files are under-replicated, then repaired', async () => {
    const victim = (await cluster.stat('first.bin')).holders[0]!
    const child = cluster.fileservers.get(victim)!
    child.process.kill('SIGKILL')
    await child.exited

    await go('cluster')
    await page.locator(`#servers tbody tr[data-server="${victim}"][data-state=dead]`).waitFor()
    assert.match(await text(`#servers tbody tr[data-server="${victim}"]`), /dead/)
    await shot('6-cluster-dead-server')

    await go('repair')
    await page.locator('#repair-queue tbody tr[data-name="first.bin"][data-version="3"]').waitFor()
    const short = Number(await text('#under-replicated'))
    assert.ok(short >= 1, `${short} under-replicated`)
    await shot('7-repair-queue')

    await page.click('#repair-run')
    await page.locator('#repair-run-status', { hasText: /Made [1-9]\d* copies/ }).waitFor()
    await page.locator('#under-replicated', { hasText: /^0$/ }).waitFor()
    await page.locator('#repair-recent li', { hasText: /first\.bin v3: copied to file server/ }).waitFor()
    assert.equal(await page.locator('#repair-queue tbody tr').count(), 0)
    const repaired = await cluster.stat('first.bin')
    assert.equal(repaired.holders.length, 2)
    assert.ok(
      !repaired.holders.includes(victim),
      `still counts the dead server: ${repaired.holders.join(',')}`,
    )
    await shot('8-repair-done')
  })

  test('the pages are reached by keyboard, and each opens with the focus on its heading', async () => {
    for (const hash of ['files', 'repair', 'feed', 'cluster']) {
      await page.focus(`nav a[href="#${hash}"]`)
      await page.keyboard.press('Enter')
      await page.waitForFunction((id) => document.activeElement?.id === id, `${hash}-title`)
      assert.equal(await page.locator(`nav a[aria-current=page]`).getAttribute('href'), `#${hash}`)
    }
  })

  test('the rates chart draws downloads and uploads, each with a peak; nothing broke the page; the token was never in a URL', async () => {
    await go('cluster')
    // Three lines: downloads from the cache, downloads fetched from file servers, uploads.
    await page.locator('#rate-chart svg polyline').nth(2).waitFor({ state: 'attached' })
    const peak = async (tone: string) => {
      const legend = await text(`#rate-legend li[data-series=${tone}]`)
      const match = /peak ([\d.]+) /.exec(legend)
      assert.ok(match, legend)
      return Number(match[1])
    }
    // The page's uploads (first.bin, then its second version) went through this proxy's counter, and
    // the download above (from the cache or fetched) shows as a peak of one of the other two (once
    // the page has sampled /metrics after it: every 2 s).
    assert.match(await text('#rate-legend li[data-series=three]'), /^uploads received: /)
    await eventually('an upload peak in the chart', async () => (await peak('three')) > 0)
    await eventually(
      'a download peak in the chart',
      async () => (await peak('one')) + (await peak('two')) > 0,
    )
    await shot('9-cluster-rates')
    const token = await page.evaluate(() => sessionStorage.getItem('dfs-token'))
    assert.ok(token && token.length >= 16)
    assert.deepEqual(
      urls.filter((url) => url.includes(token)),
      [],
    )
    assert.deepEqual(problems, [])
    // The one refused call: the wrong password at the start.
    assert.deepEqual(failed, ['401 /v1/login'])
  })
})
