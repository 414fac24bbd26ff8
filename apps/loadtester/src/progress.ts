import { formatMs, type SeriesPoint } from '@dripdrop/loadtester'

/**
 * The live line: a bar of elapsed/total, the last interval's rate, p50/p99 (from the intended send), errors and
 * not-sent counts. On a terminal it redraws in place; otherwise it prints one line per interval.
 */
export class ProgressLine {
  readonly #out: NodeJS.WriteStream
  readonly #tty: boolean
  readonly #totalMs: number
  #errors = 0
  #responses = 0
  #notSent = 0
  readonly #lost: string[] = []

  constructor(out: NodeJS.WriteStream, totalMs: number) {
    this.#out = out
    this.#tty = out.isTTY === true
    this.#totalMs = totalMs
  }

  /** An agent was lost: the live line names it from now on. */
  lost(agentId: string): void {
    if (!this.#lost.includes(agentId)) this.#lost.push(agentId)
  }

  update(p: SeriesPoint, elapsedMs: number): void {
    this.#errors += p.errors
    this.#responses += p.responses
    this.#notSent += p.notSent
    const frac = Math.min(1, elapsedMs / this.#totalMs)
    const width = 20
    const done = Math.round(frac * width)
    const bar = `[${'='.repeat(Math.max(0, done - 1))}${done > 0 ? '>' : ''}${' '.repeat(width - done)}]`
    const pctErr =
      this.#errors + this.#responses === 0 ? 0 : (100 * this.#errors) / (this.#errors + this.#responses)
    const line = `${bar} ${(elapsedMs / 1000).toFixed(0)}s/${(this.#totalMs / 1000).toFixed(0)}s  ${p.rate.toFixed(0)} req/s  p50 ${formatMs(p.latency.p50)}  p99 ${formatMs(p.latency.p99)}  errors ${this.#errors} (${pctErr.toFixed(2)}%)${this.#notSent > 0 ? `  not sent ${this.#notSent}` : ''}${this.#lost.length > 0 ? `  LOST ${this.#lost.join(',')}` : ''}`
    this.#out.write(this.#tty ? `\r\x1b[2K${line}` : `${line}\n`)
  }

  end(): void {
    if (this.#tty) this.#out.write('\n')
  }
}
