// @ts-check
// The two charts, as inline SVG built element by element: bars of free space per file server, and
// lines of transfer rates over time. Each has a text alternative (role="img" with a label) for those
// who do not see it; the numbers are in the tables beside them too.

const SVG = 'http://www.w3.org/2000/svg'

/**
 * An SVG element with attributes and children.
 * @param {string} tag @param {Record<string, string | number>} attrs @param {(Node | string)[]} children
 * @returns {SVGElement}
 */
function svg(tag, attrs = {}, ...children) {
  const element = /** @type {SVGElement} */ (document.createElementNS(SVG, tag))
  for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, String(value))
  for (const child of children) element.append(child)
  return element
}

/**
 * Horizontal bars, one per item, as long as its value is to the largest.
 * @param {{ label: string, value: number, text: string, tone?: string }[]} items
 * @param {string} summary what the chart shows, for its text alternative
 */
export function barChart(items, summary) {
  const rowHeight = 28
  const labelWidth = 130
  const width = 600
  const max = Math.max(1, ...items.map((i) => i.value))
  const chart = svg('svg', {
    viewBox: `0 0 ${width} ${Math.max(1, items.length) * rowHeight}`,
    role: 'img',
    'aria-label': `${summary}: ${items.map((i) => `${i.label} ${i.text}`).join(', ') || 'nothing to show'}`,
    class: 'chart bars',
  })
  items.forEach((item, n) => {
    const y = n * rowHeight
    const length = Math.max(2, ((width - labelWidth - 110) * item.value) / max)
    chart.append(
      svg('text', { x: 0, y: y + 18, class: 'label' }, item.label),
      svg('rect', { x: labelWidth, y: y + 5, width: length, height: 18, class: `bar ${item.tone ?? ''}` }),
      svg('text', { x: labelWidth + length + 6, y: y + 18, class: 'value' }, item.text),
    )
  })
  return chart
}

/**
 * Lines of several series over the same span of time, with the largest value marked on the axis.
 * @param {{ label: string, tone: string, points: { t: number, v: number }[] }[]} series
 * @param {{ from: number, to: number, format: (v: number) => string, summary: string }} options
 */
export function lineChart(series, options) {
  const width = 600
  const height = 180
  const left = 80
  const bottom = 24
  const max = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.v)))
  const span = Math.max(1, options.to - options.from)
  const x = (/** @type {number} */ t) => left + ((t - options.from) / span) * (width - left - 8)
  const y = (/** @type {number} */ v) => height - bottom - (v / max) * (height - bottom - 10)
  const latest = series.map((s) => `${s.label} ${options.format(s.points.at(-1)?.v ?? 0)}`).join(', ')
  const chart = svg(
    'svg',
    {
      viewBox: `0 0 ${width} ${height}`,
      role: 'img',
      'aria-label': `${options.summary}; now ${latest}`,
      class: 'chart lines',
    },
    svg('line', { x1: left, y1: y(0), x2: width - 8, y2: y(0), class: 'axis' }),
    svg('line', { x1: left, y1: y(max), x2: width - 8, y2: y(max), class: 'grid' }),
    svg('text', { x: left - 6, y: y(max) + 4, class: 'tick end' }, options.format(max)),
    svg('text', { x: left - 6, y: y(0) + 4, class: 'tick end' }, '0'),
    svg('text', { x: left, y: height - 6, class: 'tick' }, `${Math.round(span / 60_000)} min ago`),
    svg('text', { x: width - 8, y: height - 6, class: 'tick end' }, 'now'),
  )
  for (const s of series) {
    if (s.points.length === 0) continue
    const points = s.points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ')
    chart.append(svg('polyline', { points, class: `series ${s.tone}` }, svg('title', {}, s.label)))
  }
  return chart
}
