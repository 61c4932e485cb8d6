// A database connection string as it may be shown (logs, errors): without its password. Its own
// module, so the directory command can print one without loading the PostgreSQL client.

export function redact(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return 'postgres://…'
  }
}
