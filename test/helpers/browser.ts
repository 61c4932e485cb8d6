// A real browser for dashboard tests: Debian's chromium driven by playwright-core (no browser
// download), trusting the cluster CA for real. The CA goes into an NSS database in a HOME of the
// browser's own ($HOME/.pki/nssdb is where Chromium on Linux looks for user trust anchors), marked
// trusted for TLS servers only ("C,,"). Nothing is ignored: certificate errors stay errors, the proxy's
// certificate must chain to that CA and name the host, and a browser without the CA is refused
// (which the dashboard test checks, so the trust cannot silently come from elsewhere).

import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'

/** Why browser tests cannot run here, or undefined when they can. */
export function browserMissing(): string | undefined {
  if (!existsSync(CHROMIUM)) return `no ${CHROMIUM}: install Debian's chromium to run the dashboard test`
  if (spawnSync('certutil', ['-H']).error)
    return "no certutil: install Debian's libnss3-tools to run the dashboard test"
  return undefined
}

export interface TrustingBrowser {
  browser: Browser
  close(): Promise<void>
}

/** Chromium with `caFile` (PEM) as its only added trust anchor; none when `caFile` is undefined. */
export async function launchBrowser(caFile: string | undefined): Promise<TrustingBrowser> {
  const home = await mkdtemp(join(tmpdir(), 'dfs-browser-'))
  const db = `sql:${join(home, '.pki', 'nssdb')}`
  await mkdir(join(home, '.pki', 'nssdb'), { recursive: true })
  certutil(['-N', '-d', db, '--empty-password'])
  if (caFile) certutil(['-A', '-d', db, '-t', 'C,,', '-n', 'dfs test cluster CA', '-i', caFile])
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    // The sandbox needs user namespaces, which containers running tests as root often lack.
    args: ['--no-sandbox'],
    env: { ...process.env, HOME: home },
  })
  return {
    browser,
    close: async () => {
      await browser.close()
      await rm(home, { recursive: true, force: true })
    },
  }
}

function certutil(args: string[]): void {
  const result = spawnSync('certutil', args, { encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`certutil ${args.join(' ')} failed: ${result.stderr}`)
}
