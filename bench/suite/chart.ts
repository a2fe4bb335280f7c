/**
 * The benchmark's picture: an SVG written by the benchmark itself (no browser, no dependency), embedded in
 * results.md. One section per workload, two bar panels side by side: messages per second (longer is better) and
 * CPU per message (shorter is better), one row per client; this project's clients in one colour, the peers in
 * another, so the comparison reads at a glance.
 *
 * @module
 */

/** One client's bars. */
export interface ChartRow {
  label: string
  msgsPerSecond: number
  /** CPU microseconds per message (CPU seconds per million messages, the same number). */
  cpuMicrosPerMessage: number
  /** This project's client (drawn in the first colour). */
  ours: boolean
  /** A note after the label, e.g. `partial`. */
  note?: string
}

/** A group of rows under a title (one workload). */
export interface ChartSection {
  title: string
  rows: ChartRow[]
}

const ROW_HEIGHT = 22
const BAR_HEIGHT = 15
const LABEL_WIDTH = 170
const PANEL_WIDTH = 330
const PANEL_GAP = 40
const SECTION_HEAD = 46
const MARGIN = 16
const OURS_COLOUR = '#d9480f'
const PEER_COLOUR = '#1c7ed6'

/** Escapes text for an SVG text node or attribute. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** A short number: 12.3k, 1.2M, 4.56, 0.123. */
export function shortNumber(value: number): string {
  if (!Number.isFinite(value)) {
    return 'n/a'
  }
  if (value >= 1e6) {
    return `${(value / 1e6).toFixed(2)}M`
  }
  if (value >= 1e4) {
    return `${(value / 1e3).toFixed(1)}k`
  }
  if (value >= 100) {
    return value.toFixed(0)
  }
  if (value >= 1) {
    return value.toFixed(2)
  }
  return value.toFixed(3)
}

function panel(x: number, y: number, title: string, rows: ChartRow[], pick: (row: ChartRow) => number): string[] {
  const max = Math.max(...rows.map(pick).filter(Number.isFinite), 0)
  const out = [`<text x="${x}" y="${y - 8}" class="panel">${escapeXml(title)}</text>`]
  const usable = PANEL_WIDTH - 60
  rows.forEach((row, index) => {
    const value = pick(row)
    const width = max > 0 && Number.isFinite(value) ? Math.max(1, (value / max) * usable) : 0
    const top = y + index * ROW_HEIGHT
    out.push(
      `<rect x="${x}" y="${top}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" fill="${row.ours ? OURS_COLOUR : PEER_COLOUR}"/>`,
      `<text x="${(x + width + 4).toFixed(1)}" y="${top + BAR_HEIGHT - 3}" class="value">${escapeXml(shortNumber(value))}</text>`,
    )
  })
  return out
}

/** The whole SVG document for `sections`, titled `title`. */
export function renderChart(title: string, sections: readonly ChartSection[]): string {
  const width = MARGIN * 2 + LABEL_WIDTH + PANEL_WIDTH * 2 + PANEL_GAP
  let y = MARGIN + 40
  const body: string[] = []
  for (const section of sections) {
    body.push(`<text x="${MARGIN}" y="${y}" class="section">${escapeXml(section.title)}</text>`)
    const top = y + SECTION_HEAD - 18
    section.rows.forEach((row, index) => {
      const label = row.note === undefined ? row.label : `${row.label} (${row.note})`
      body.push(`<text x="${MARGIN}" y="${top + index * ROW_HEIGHT + BAR_HEIGHT - 3}" class="label">${escapeXml(label)}</text>`)
    })
    const left = MARGIN + LABEL_WIDTH
    body.push(...panel(left, top, 'messages/s (longer is better)', section.rows, (row) => row.msgsPerSecond))
    body.push(...panel(left + PANEL_WIDTH + PANEL_GAP, top, 'CPU µs per message (shorter is better)', section.rows, (row) => row.cpuMicrosPerMessage))
    y = top + section.rows.length * ROW_HEIGHT + 24
  }
  const height = y + MARGIN
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    '<style>.title{font-size:16px;font-weight:bold}.section{font-size:14px;font-weight:bold}.panel{font-size:12px;fill:#444}' +
      '.label{font-size:12px}.value{font-size:11px;fill:#222}</style>',
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${MARGIN}" y="${MARGIN + 14}" class="title">${escapeXml(title)}</text>`,
    `<rect x="${width - MARGIN - 190}" y="${MARGIN + 3}" width="12" height="12" fill="${OURS_COLOUR}"/>`,
    `<text x="${width - MARGIN - 174}" y="${MARGIN + 14}" class="label">this project</text>`,
    `<rect x="${width - MARGIN - 90}" y="${MARGIN + 3}" width="12" height="12" fill="${PEER_COLOUR}"/>`,
    `<text x="${width - MARGIN - 74}" y="${MARGIN + 14}" class="label">peers</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n')
}
