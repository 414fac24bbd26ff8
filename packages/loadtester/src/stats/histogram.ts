import hdr from 'hdr-histogram-js'

/** An HDR histogram of microseconds (hdr-histogram-js). */
export type Histogram = hdr.Histogram

/**
 * Every histogram of the load tester has this shape, so any two of them merge exactly: 1 µs lowest
 * discernible value, 3 significant digits (0.1% value resolution), auto-resizing (no upper bound to clip at).
 */
const SHAPE = {
  bitBucketSize: 32,
  autoResize: true,
  lowestDiscernibleValue: 1,
  numberOfSignificantValueDigits: 3,
  useWebAssembly: false,
} as const

/** A new empty histogram of microseconds with the load tester's fixed shape. */
export function createHistogram(): Histogram {
  return hdr.build(SHAPE)
}

/**
 * The histogram in HdrHistogram's standard compressed V2 encoding, base64 (the form `HistogramLogWriter`
 * writes, readable by the Java, Go and Rust HdrHistogram libraries). An empty histogram encodes as `''`.
 */
export function encodeHistogram(h: Histogram): string {
  return h.totalCount === 0 ? '' : hdr.encodeIntoCompressedBase64(h)
}

/** Decodes {@link encodeHistogram}'s output into a histogram of the load tester's shape. */
export function decodeHistogram(encoded: string): Histogram {
  const h = createHistogram()
  if (encoded !== '') h.add(hdr.decodeFromCompressedBase64(encoded, 32, false))
  return h
}

/** Percentiles reported everywhere (summary, JSON report, thresholds accept any other). */
export const PERCENTILES = [50, 75, 90, 95, 99, 99.9, 99.99] as const

/** A histogram summarised in microseconds. */
export interface LatencySummary {
  /** Number of samples. */
  count: number
  min: number
  mean: number
  max: number
  stddev: number
  /** `{ "50": µs, "99.9": µs, … }` for every entry of {@link PERCENTILES}. */
  percentiles: Record<string, number>
}

/** Summarises a histogram (all values in µs; zeros when it is empty). */
export function summarize(h: Histogram): LatencySummary {
  const percentiles: Record<string, number> = {}
  for (const p of PERCENTILES) percentiles[String(p)] = h.totalCount === 0 ? 0 : h.getValueAtPercentile(p)
  return {
    count: h.totalCount,
    min: h.totalCount === 0 ? 0 : h.minNonZeroValue,
    mean: h.totalCount === 0 ? 0 : h.mean,
    max: h.maxValue,
    stddev: h.totalCount === 0 ? 0 : h.stdDeviation,
    percentiles,
  }
}
