// undici's own modules, which src/client/undici.ts imports instead of its index (typed there).
declare module 'undici/lib/dispatcher/agent.js' {
  const Agent: unknown
  export default Agent
}
declare module 'undici/lib/api/index.js' {
  const api: unknown
  export default api
}
declare module 'undici/lib/core/connect.js' {
  const buildConnector: unknown
  export default buildConnector
}
