// Authentication before anything about the body: Fastify reads, parses and validates a body before
// preHandler hooks run, so a caller without a session would learn why its body is bad (or wait for
// a large one to be read) before hearing it is not logged in. Routes name their authentication as a
// preHandler; this runs it on request instead, before the body is touched.

import type { FastifyInstance, FastifyRequest } from 'fastify'

/** For every route declared after this call whose preHandler includes `hook`, runs `hook` on request. */
export function authenticateFirst(
  app: FastifyInstance,
  hook: (request: FastifyRequest) => Promise<void>,
): void {
  app.addHook('onRoute', (route) => {
    const before: unknown[] = [route.preHandler ?? []].flat()
    if (!before.includes(hook)) return
    route.preHandler = before.filter((h) => h !== hook) as typeof route.preHandler
    route.onRequest = [...[route.onRequest ?? []].flat(), hook]
  })
}
