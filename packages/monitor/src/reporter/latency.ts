import * as hdr from 'hdr-histogram-js'

/** Highest handler latency a histogram tracks, µs (one hour); slower calls are clamped to it. */
const HIGHEST_US = 3_600_000_000

/** Counts and a latency histogram of one message name on one route. */
export class NameStats {
  count = 0
  errors = 0
  readonly node: string
  readonly route: string
  readonly name: string
  readonly #histogram: hdr.Histogram

  constructor(node: string, route: string, name: string) {
    this.node = node
    this.route = route
    this.name = name
    // 2 significant digits: 1% value resolution keeps the compressed delta at a few hundred bytes.
    this.#histogram = hdr.build({
      bitBucketSize: 32,
      lowestDiscernibleValue: 1,
      highestTrackableValue: HIGHEST_US,
      numberOfSignificantValueDigits: 2,
      autoResize: false,
      useWebAssembly: false,
    })
  }

  record(us: number): void {
    this.#histogram.recordValue(Math.min(HIGHEST_US, Math.max(1, Math.round(us))))
  }

  /** The latency recorded since the previous call, as compressed base64 ('' when none), and resets it. */
  takeDelta(): string {
    if (this.#histogram.totalCount === 0) return ''
    const encoded = hdr.encodeIntoCompressedBase64(this.#histogram)
    this.#histogram.reset()
    return encoded
  }
}

/** Decodes a latency delta sent by {@link NameStats.takeDelta}. Throws on bad input. */
export function decodeLatency(base64: string): hdr.Histogram {
  return hdr.decodeFromCompressedBase64(base64, 32, false)
}

/** An empty histogram with the reporters' layout, for merging deltas. */
export function emptyLatency(): hdr.Histogram {
  return hdr.build({
    bitBucketSize: 32,
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: 2,
    autoResize: false,
    useWebAssembly: false,
  })
}
