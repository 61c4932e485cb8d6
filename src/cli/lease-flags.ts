// The flags of every command that takes a write lease.

import { duration } from './duration.ts'
import { LEASE_TTL_MS, LEASE_WAIT_MS } from './lease.ts'

export const leaseFlags = {
  wait: duration({
    description: 'how long to wait for the lock (e.g. 30s, 5m)',
    default: LEASE_WAIT_MS,
  }),
  ttl: duration({
    description: 'lease time-to-live, renewed while working (e.g. 30s)',
    default: LEASE_TTL_MS,
  }),
}
