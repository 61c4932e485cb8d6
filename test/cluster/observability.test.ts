// What operators and their tools see of every role: /healthz for probes (no certificate, no session,
// no details) and Prometheus /metrics with HELP and TYPE for every family.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Agent, request } from 'undici'
import { readCaCert } from '../../src/tls/ca.ts'
import { TestCluster } from '../helpers/cluster.ts'

describe('health and metrics on every role', () => {
  let cluster: TestCluster
  let agent: Agent
  const roles = () => [
    { role: 'directory', url: cluster.directory.url },
    { role: 'fileserver', url: cluster.fileservers.get(1)!.url },
    { role: 'proxy', url: cluster.proxy },
  ]
  const get = async (url: string) => {
    const response = await request(url, { dispatcher: agent })
    return {
      status: response.statusCode,
      type: String(response.headers['content-type']),
      text: await response.body.text(),
    }
  }

  before(async () => {
    cluster = await TestCluster.start({ fileservers: 3 })
    assert.equal((await cluster.run(['put', '-', 'm/one.txt'], { input: 'one\n' })).code, 0)
    assert.equal((await cluster.run(['get', 'm/one.txt', '-'])).code, 0)
    // Trust in the cluster CA, and no client certificate: what a probe or Prometheus has.
    agent = new Agent({ connect: { ca: (await readCaCert(cluster.data))! } })
  })
  after(async () => {
    await agent?.close()
    await cluster?.stop()
  })

  test('/healthz answers ok without a certificate or session, and says nothing more', async () => {
    for (const { role, url } of roles()) {
      const health = await get(`${url}/healthz`)
      assert.equal(health.status, 200, role)
      assert.deepEqual(JSON.parse(health.text), { ok: true }, role)
    }
    // The detailed /health still wants a node's certificate.
    assert.equal((await get(`${cluster.fileservers.get(1)!.url}/health`)).status, 401)
  })

  test('/metrics: Prometheus text, every family with HELP and TYPE, requests, and what each role adds', async () => {
    const own: Record<string, string[]> = {
      directory: ['dfs_directory_files', 'dfs_repair_under_replicated', 'dfs_directory_fileservers_live'],
      fileserver: [],
      proxy: [
        'dfs_proxy_cache_hits_total',
        'dfs_proxy_cache_bytes_served_total',
        'dfs_proxy_upload_bytes_total',
      ],
    }
    for (const { role, url } of roles()) {
      const metrics = await get(`${url}/metrics`)
      assert.equal(metrics.status, 200, role)
      assert.match(metrics.type, /^text\/plain/, role)
      const types = [...metrics.text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => m[1]!)
      const helps = new Set([...metrics.text.matchAll(/^# HELP (\S+) /gm)].map((m) => m[1]!))
      for (const family of types) assert.ok(helps.has(family), `${role}: ${family} has a HELP line`)
      for (const family of [
        'dfs_http_requests_total',
        'dfs_http_request_duration_seconds',
        'dfs_process_resident_memory_bytes',
        ...own[role]!,
      ])
        assert.ok(types.includes(family), `${role} exposes ${family}`)
      assert.match(
        metrics.text,
        new RegExp(`^dfs_http_requests_total\\{[^}]*role="${role}"[^}]*\\} [1-9]`, 'm'),
        `${role} counted requests`,
      )
    }
    const directory = await get(`${cluster.directory.url}/metrics`)
    assert.match(directory.text, /^dfs_directory_files\{[^}]*\} 1$/m)
    assert.match(directory.text, /^dfs_directory_fileservers_live\{[^}]*\} 3$/m)
    // The one upload, "one\n", counted by the proxy as its bytes arrived.
    const proxy = await get(`${cluster.proxy}/metrics`)
    assert.match(proxy.text, /^dfs_proxy_upload_bytes_total\{[^}]*\} 4$/m)
  })
})
