// Plain-text tables for benchmark output: the first column and the last left-aligned, figures in
// between right-aligned; a row of one cell is a heading for the rows under it.

export function renderTable(header: string[], rows: string[][]): string {
  const full = rows.filter((row) => row.length > 1)
  const widths = header.map((_, col) => Math.max(...[header, ...full].map((row) => (row[col] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((cell, col) =>
        col === 0 || col === cells.length - 1 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!),
      )
      .join('  ')
      .trimEnd()
  const out = [line(header), line(widths.map((w) => '-'.repeat(w)))]
  for (const row of rows) out.push(row.length > 1 ? line(row) : (row[0] ?? ''))
  return out.join('\n')
}
