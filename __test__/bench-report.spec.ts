/**
 * The benchmark's own helpers (never the benchmark itself, which needs minutes and a quiet machine): the chart
 * writer, the latency percentiles, the body numbering the gRPC client is counted by, and who is compared with whom.
 */
import test from 'ava'

import { bodyIndex, summarizeLatencies } from '../bench/clients/consume-measure'
import { escapeXml, renderChart, shortNumber } from '../bench/suite/chart'
import { baselineOf, isOurs } from '../bench/suite/clients'
import { goalLines, times } from '../bench/suite/report'

/** The widths of the bars of one colour, in document order. */
function barWidths(svg: string, colour: string): number[] {
  return [...svg.matchAll(new RegExp(`<rect x="[^"]+" y="[^"]+" width="([^"]+)" height="15" fill="${colour}"/>`, 'g'))].map((m) => Number(m[1]))
}

test('the chart draws two bars per client, each proportional to the largest of its panel, ours and peers apart', (t) => {
  const svg = renderChart('Consumers', [
    {
      title: '100 B',
      rows: [
        { label: 'ours', msgsPerSecond: 200_000, cpuMicrosPerMessage: 2, ours: true },
        { label: 'ali-ons', msgsPerSecond: 100_000, cpuMicrosPerMessage: 8, ours: false },
      ],
    },
  ])
  t.true(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'))
  t.true(svg.trimEnd().endsWith('</svg>'))
  const [oursRate, oursCpu] = barWidths(svg, '#d9480f')
  const [peerRate, peerCpu] = barWidths(svg, '#1c7ed6')
  t.is(peerRate, (oursRate as number) / 2)
  t.is(oursCpu, (peerCpu as number) / 4)
  t.regex(svg, />200\.0k</)
  t.regex(svg, />ali-ons</)
})

test('chart text is escaped, and a missing figure draws no bar rather than breaking the document', (t) => {
  const svg = renderChart('a < b & "c"', [{ title: 't', rows: [{ label: '<x>', msgsPerSecond: Number.NaN, cpuMicrosPerMessage: 1, ours: false, note: 'partial' }] }])
  t.true(svg.includes('a &lt; b &amp; &quot;c&quot;'))
  t.true(svg.includes('&lt;x&gt; (partial)'))
  t.false(svg.includes('NaN'))
  t.is(escapeXml('&<>"'), '&amp;&lt;&gt;&quot;')
  t.is(shortNumber(1_234_567), '1.23M')
  t.is(shortNumber(0.0456), '0.046')
})

test('latency percentiles come from the whole-millisecond histogram', (t) => {
  const slots = new Float64Array(100)
  slots[2] = 50
  slots[3] = 49
  slots[90] = 1
  t.deepEqual(summarizeLatencies(slots, 100), { count: 100, p50Ms: 2, p99Ms: 3, maxMs: 90 })
  t.is(summarizeLatencies(slots, 0), undefined)
})

test('a benchmark body says its message number', (t) => {
  t.is(bodyIndex(Buffer.from('{"i":12345,"p":"aaaa"}')), 12345)
  t.is(bodyIndex(Buffer.from('{"i":0,"p":""}')), 0)
})

test('drop-in subpaths are compared with the peer they replace, everything else with ours', (t) => {
  const present = ['ours', 'engine', 'ali-ons', 'ours-ali-ons', 'client-nodejs']
  t.is(baselineOf('ours-ali-ons', present), 'ali-ons')
  t.is(baselineOf('ali-ons', present), 'ours')
  t.is(baselineOf('ours-client-nodejs', present), 'client-nodejs')
  t.is(baselineOf('ours-tuned', present), 'ours')
  t.is(baselineOf('ours', present), undefined)
  t.true(isOurs('engine'))
  t.false(isOurs('java'))
})

test('the goal check compares ours with the fastest and the leanest peer and the engine', (t) => {
  const row = (client: string, msgsPerSecond: number, cpuSecondsPerMillion: number) => ({
    client,
    rounds: 1,
    msgsPerSecond,
    cpuSecondsPerMillion,
    peakRssMb: 100,
    duplicates: 0,
    partialRounds: 0,
    seen: 1,
    clientErrors: 0,
  })
  const lines = goalLines({
    bodySize: 100,
    variant: 'count',
    messages: 1,
    topic: 't',
    summaries: [row('ours', 300, 1), row('engine', 350, 0.5), row('java', 200, 6), row('ali-ons', 100, 3)],
  }).join('\n')
  t.true(lines.includes('Fastest peer: java'))
  t.true(lines.includes('lowest peer CPU per message: ali-ons'))
  t.regex(lines, /\| ours \| 1\.50x \(met\) \| 0\.33x \(met\) \| 86 % \(met\) \| \*\*met\*\* \|/)
})

test('a ratio against a figure a run could not measure is n/a, never NaNx', (t) => {
  t.is(times(74.37, Number.NaN), 'n/a')
  t.is(times(Number.NaN, 51.87), 'n/a')
  t.is(times(74.37, null), 'n/a')
  t.is(times(3, 2), '1.50x')
})
