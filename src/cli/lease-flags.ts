// The flags of every command that takes a write lease.

import { duration } from './duration.ts'

export const leaseFlags = {
  wait: duration({
    description: 'how long to wait for the lock (e.g. 30s, 5m)',
    default: 5 * 60_000,
  }),
  ttl: duration({
    description: 'lease time-to-live, renewed while working (e.g. 30s)',
    default: 30_000,
  }),
}
