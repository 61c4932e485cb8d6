// The dashboard's browser code that needs no browser: the event-stream parser, which must find the
// same events however the stream is cut into pieces, and the rates computed from /metrics samples.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { eventParser, type StreamEvent } from '../../src/roles/proxy/ui/static/sse.js'
import { parseMetrics, RateHistory, WINDOW_MS } from '../../src/roles/proxy/ui/static/metrics.js'

const STREAM =
  ': dfs change stream\n\n' +
  'id: 7\ndata: {"name":"a<b>\\"c"}\n\n' +
  ': keep-alive\r\n\r\n' +
  'event: resync\r\ndata: one\r\ndata:two\r\n\r\n' +
  'data: last\n\n' +
  'data: unfinished\n'

const EXPECTED: StreamEvent[] = [
  { event: 'message', data: '{"name":"a<b>\\"c"}', id: '7' },
  { event: 'resync', data: 'one\ntwo', id: '7' },
  { event: 'message', data: 'last', id: '7' },
]

test('the event-stream parser finds the same events whatever the stream is cut into', () => {
  for (let size = 1; size <= STREAM.length; size++) {
    const events: StreamEvent[] = []
    const feed = eventParser((event) => events.push(event))
    for (let at = 0; at < STREAM.length; at += size) feed(STREAM.slice(at, at + size))
    assert.deepEqual(events, EXPECTED, `pieces of ${size}`)
  }
})

test('metrics text: series with labels (role, id) are read under their name, summed', () => {
  const text = [
    '# HELP dfs_proxy_cache_bytes_served_total Bytes read out of the cache for clients',
    '# TYPE dfs_proxy_cache_bytes_served_total counter',
    'dfs_proxy_cache_bytes_served_total{role="proxy",id="1"} 4096',
    'dfs_http_requests_total{method="GET",route="/v1/files",status="200",role="proxy",id="1"} 3',
    'dfs_http_requests_total{method="PUT",route="/v1/files",status="200",role="proxy",id="1"} 2',
    'plain 7',
  ].join('\n')
  const values = parseMetrics(text)
  assert.equal(values.get('dfs_proxy_cache_bytes_served_total'), 4096)
  assert.equal(values.get('dfs_http_requests_total'), 5)
  assert.equal(values.get('plain'), 7)
})

test('rates are bytes a second between samples; a counter that goes back gives no point; old samples go', () => {
  const history = new RateHistory()
  const sample = (t: number, v: number) =>
    history.add(t, parseMetrics(`# TYPE dfs_x_total counter\ndfs_x_total ${v}\nother 1\n`))
  sample(0, 0)
  sample(2000, 4096)
  sample(4000, 4096)
  sample(6000, 10) // the proxy restarted
  sample(8000, 2058)
  assert.deepEqual(history.rates('dfs_x_total'), [
    { t: 2000, v: 2048 },
    { t: 4000, v: 0 },
    { t: 8000, v: 1024 },
  ])
  sample(8000 + WINDOW_MS + 1, 2058)
  assert.equal(history.samples[0]!.t, 8000)
})
