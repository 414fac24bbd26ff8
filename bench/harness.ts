/**
 * The benchmark harness. Every comparison measures dripdrop and its peer in the same run and prints a table
 * row plus one JSON line a script can check:
 *
 *   {"bench":"core.inproc.reqrep.c1","unit":"calls/s","dripdrop":123,"peer":"moleculer","peerValue":100,"ratio":1.23}
 *
 * `ratio` > 1 always means dripdrop is better: for rates it is dripdrop / peer, for latencies peer / dripdrop.
 */

export interface Comparison {
  /** Stable id, dot-separated: `<package>.<subject>.<variant>`. */
  bench: string
  /** Unit of both values, e.g. `calls/s`, `msg/s`, `us` (latency). */
  unit: string
  dripdrop: number
  peer: string
  peerValue: number
  /** `higher` (rates, the default) or `lower` (latencies) is better. */
  better?: 'higher' | 'lower'
  /** A target the issue sets for the ratio, printed beside it. */
  target?: number
}

export interface Measurement {
  bench: string
  unit: string
  dripdrop: number
  /** A target for the absolute value, printed beside it. */
  target?: number
}

const fmt = (n: number): string =>
  n >= 100 ? Math.round(n).toLocaleString('en-US') : n >= 1 ? n.toFixed(2) : n.toPrecision(3)

/** Prints a comparison of dripdrop against its peer. */
export function compare(c: Comparison): number {
  const ratio = (c.better ?? 'higher') === 'higher' ? c.dripdrop / c.peerValue : c.peerValue / c.dripdrop
  const rounded = Math.round(ratio * 100) / 100
  const target =
    c.target === undefined ? '' : `  (target >= ${c.target}: ${rounded >= c.target ? 'met' : 'MISSED'})`
  console.log(
    `${c.bench.padEnd(42)} dripdrop ${fmt(c.dripdrop).padStart(12)} ${c.unit.padEnd(8)} ${c.peer} ${fmt(c.peerValue).padStart(12)}  ratio ${rounded.toFixed(2)}${target}`,
  )
  console.log(
    JSON.stringify({
      bench: c.bench,
      unit: c.unit,
      dripdrop: round(c.dripdrop),
      peer: c.peer,
      peerValue: round(c.peerValue),
      ratio: rounded,
    }),
  )
  return ratio
}

/** Prints a measurement that has no peer (an absolute target such as msg/s). */
export function measure(m: Measurement): void {
  const target =
    m.target === undefined
      ? ''
      : `  (target >= ${fmt(m.target)}: ${m.dripdrop >= m.target ? 'met' : 'MISSED'})`
  console.log(`${m.bench.padEnd(42)} dripdrop ${fmt(m.dripdrop).padStart(12)} ${m.unit}${target}`)
  console.log(JSON.stringify({ bench: m.bench, unit: m.unit, dripdrop: round(m.dripdrop) }))
}

function round(n: number): number {
  return n >= 100 ? Math.round(n) : Math.round(n * 1000) / 1000
}

/**
 * Runs `fn` repeatedly for about `ms` milliseconds after a warm-up and returns operations per second.
 * `fn` returns how many operations it did.
 */
export async function rate(fn: () => number | Promise<number>, ms = 1000, warmupMs = 200): Promise<number> {
  const warmEnd = performance.now() + warmupMs
  while (performance.now() < warmEnd) await fn()
  let ops = 0
  const start = performance.now()
  let now = start
  while (now - start < ms) {
    ops += await fn()
    now = performance.now()
  }
  return (ops * 1000) / (now - start)
}

/**
 * Runs `call` in `concurrency` concurrent loops for `ms` and returns calls/s and latency percentiles (us).
 * Only every 8th call is timed: two clock reads per call would cost as much as a fast in-process call and
 * squeeze every ratio towards 1.
 */
export async function closedLoop(
  call: () => Promise<unknown>,
  concurrency: number,
  ms = 1000,
  warmupMs = 200,
): Promise<{ rate: number; p50: number; p99: number }> {
  const run = async (durationMs: number, samples: number[] | null): Promise<number> => {
    let count = 0
    const end = performance.now() + durationMs
    const loop = async (): Promise<void> => {
      let i = 0
      while ((i & 63) !== 0 || performance.now() < end) {
        if (samples !== null && (i & 7) === 0) {
          const t = performance.now()
          await call()
          if (samples.length < 200_000) samples.push(performance.now() - t)
        } else await call()
        i++
        count++
      }
    }
    const start = performance.now()
    await Promise.all(Array.from({ length: concurrency }, loop))
    return (count * 1000) / (performance.now() - start)
  }
  await run(warmupMs, null)
  const samples: number[] = []
  const r = await run(ms, samples)
  samples.sort((a, b) => a - b)
  const pct = (p: number) =>
    (samples[Math.min(samples.length - 1, Math.floor(samples.length * p))] ?? 0) * 1000
  return { rate: r, p50: pct(0.5), p99: pct(0.99) }
}

/** Prints a section header. */
export function section(title: string): void {
  console.log(`\n== ${title}`)
}
