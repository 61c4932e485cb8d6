// Prometheus metrics of every role (GET /metrics, text exposition with HELP and TYPE): the process
// (memory, CPU, event-loop lag, from prom-client's defaults), HTTP requests by route and status with
// their latency and bytes, errors by dfs code, and what each role adds of its own (the proxy's cache,
// the directory's repair) as gauges read at scrape time.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export interface RoleMetric {
  name: string
  help: string
  type: 'counter' | 'gauge'
  value: () => number | Promise<number>
}

export class Metrics {
  readonly registry = new Registry()
  private readonly requests: Counter<'method' | 'route' | 'status'>
  private readonly latency: Histogram<'method' | 'route'>
  private readonly bytesIn: Counter<'route'>
  private readonly bytesOut: Counter<'route'>
  private readonly errors: Counter<'code'>

  constructor(role: string, id: number | undefined) {
    this.registry.setDefaultLabels({ role, ...(id === undefined ? {} : { id: String(id) }) })
    collectDefaultMetrics({ register: this.registry, prefix: 'dfs_' })
    const registers = [this.registry]
    this.requests = new Counter({
      name: 'dfs_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    })
    this.latency = new Histogram({
      name: 'dfs_http_request_duration_seconds',
      help: 'Time from a request arriving to its answer being sent (for file bytes: the whole transfer)',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
      registers,
    })
    this.bytesIn = new Counter({
      name: 'dfs_http_request_body_bytes_total',
      help: 'Request body bytes declared by Content-Length, by route pattern (chunked bodies are not counted)',
      labelNames: ['route'],
      registers,
    })
    this.bytesOut = new Counter({
      name: 'dfs_http_response_body_bytes_total',
      help: 'Response body bytes declared by Content-Length, by route pattern',
      labelNames: ['route'],
      registers,
    })
    this.errors = new Counter({
      name: 'dfs_errors_total',
      help: 'Requests that failed, by dfs error code',
      labelNames: ['code'],
      registers,
    })
  }

  /** Counts every answered request (an onResponse hook). */
  observe(request: FastifyRequest, reply: FastifyReply): void {
    const route = request.routeOptions.url ?? 'unmatched'
    const method = request.method
    this.requests.inc({ method, route, status: String(reply.statusCode) })
    this.latency.observe({ method, route }, reply.elapsedTime / 1000)
    const sent = Number(reply.getHeader('content-length') ?? 0)
    const received = Number(request.headers['content-length'] ?? 0)
    if (received > 0) this.bytesIn.inc({ route }, received)
    if (sent > 0) this.bytesOut.inc({ route }, sent)
  }

  error(code: string): void {
    this.errors.inc({ code })
  }

  /** A role's own figures, read when scraped (a counter kept elsewhere is set to its running total). */
  add(metric: RoleMetric): void {
    const { name, help, value } = metric
    const registers = [this.registry]
    if (metric.type === 'gauge') {
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          this.set(await value())
        },
      })
    } else {
      new Counter({
        name,
        help,
        registers,
        async collect() {
          const total = await value()
          this.reset()
          this.inc(total)
        },
      })
    }
  }
}

/** A value computed at most once a second however many metrics read it (one scrape reads many). */
export function snapshot<T>(read: () => Promise<T>, maxAgeMs = 1000): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined
  return () => {
    const now = Date.now()
    if (!last || now - last.at > maxAgeMs) last = { at: now, value: read() }
    return last.value
  }
}

/** GET /metrics, and the hook that counts requests. Public: no client certificate, no session. */
export function serveMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (request, reply) => metrics.observe(request, reply))
  app.get('/metrics', async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  )
}
