import { closeSync, existsSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'

/** Where a log line came from: the child's stdout or stderr, or the supervisor itself (start, exit…). */
export type LogStream = 'out' | 'err' | 'sup'

/** One line an instance printed (or the supervisor wrote about it). */
export interface LogLine {
  instance: string
  stream: LogStream
  /** ms since the epoch. */
  time: number
  line: string
}

/** Log options of a {@link Supervisor} (every one has a documented default). */
export interface LogOptions {
  /** Directory of the log files, one `<instance>.log` each. @default `.dripdrop/logs` under the current directory */
  logDir?: string
  /** A log file is rotated when it would grow past this, bytes (a single line longer than this gets a file of
   * its own). @default 10 MiB */
  maxLogBytes?: number
  /** Files kept per instance, the current one included (`x.log`, `x.log.1` … `x.log.<n-1>`). @default 5 */
  maxLogFiles?: number
  /** Bytes of recent lines kept in memory per instance, for `tail()` and followers. @default 64 KiB */
  tailBytes?: number
  /** A line longer than this is cut (the rest follows as another line), bytes. @default 16 KiB */
  maxLineBytes?: number
}

export const LOG_DEFAULTS: Required<Omit<LogOptions, 'logDir'>> = {
  maxLogBytes: 10 * 1024 * 1024,
  maxLogFiles: 5,
  tailBytes: 64 * 1024,
  maxLineBytes: 16 * 1024,
}

/** The size a line takes in the tail: its text plus a small fixed overhead. */
const sizeOf = (l: LogLine) => l.line.length + 32

/**
 * One instance's log: lines appended to `<dir>/<instance>.log` (`<ISO time> <stream> <line>`), rotated by
 * size, and the last `tailBytes` kept in memory. Writes are synchronous appends of whole chunks: small, to the
 * page cache, and in order with the supervisor's own lines.
 */
export class InstanceLog {
  readonly file: string
  readonly #options: Required<LogOptions>
  readonly #instance: string
  readonly #tail: LogLine[] = []
  #tailSize = 0
  #fd: number | undefined
  #size = 0
  readonly #partial: Record<'out' | 'err', string> = { out: '', err: '' }
  /** Called with each line as it arrives (the supervisor emits `instance:log` and feeds followers). */
  onLine: ((line: LogLine) => void) | undefined

  constructor(instance: string, options: Required<LogOptions>) {
    this.#instance = instance
    this.#options = options
    this.file = join(options.logDir, `${instance}.log`)
  }

  /** A chunk of the child's output: split into lines (a partial line waits for the rest, up to maxLineBytes). */
  write(stream: 'out' | 'err', chunk: string): void {
    let text = this.#partial[stream] + chunk
    const lines: string[] = []
    let nl = text.indexOf('\n')
    while (nl !== -1) {
      lines.push(text.slice(0, nl))
      text = text.slice(nl + 1)
      nl = text.indexOf('\n')
    }
    while (text.length > this.#options.maxLineBytes) {
      lines.push(text.slice(0, this.#options.maxLineBytes))
      text = text.slice(this.#options.maxLineBytes)
    }
    this.#partial[stream] = text
    this.#append(stream, lines)
  }

  /** The supervisor's own line about this instance (started, exited, restarting…). */
  note(line: string): void {
    this.#append('sup', [line])
  }

  /** Writes what is left of a partial line (the child's stream ended). */
  flush(stream: 'out' | 'err'): void {
    const rest = this.#partial[stream]
    this.#partial[stream] = ''
    if (rest !== '') this.#append(stream, [rest])
  }

  /** The lines kept in memory, oldest first. */
  tail(): LogLine[] {
    return [...this.#tail]
  }

  close(): void {
    this.flush('out')
    this.flush('err')
    if (this.#fd !== undefined) closeSync(this.#fd)
    this.#fd = undefined
  }

  #append(stream: LogStream, lines: string[]): void {
    if (lines.length === 0) return
    const time = Date.now()
    const stamp = new Date(time).toISOString()
    let text = ''
    let bytes = 0
    for (const line of lines) {
      const entry: LogLine = { instance: this.#instance, stream, time, line }
      this.#tail.push(entry)
      this.#tailSize += sizeOf(entry)
      const row = `${stamp} ${stream} ${line}\n`
      const rowBytes = Buffer.byteLength(row)
      // One write per chunk, cut where the file would pass maxLogBytes so that it rotates between lines.
      if (bytes > 0 && this.#size + bytes + rowBytes > this.#options.maxLogBytes) {
        this.#writeFile(text, bytes)
        text = ''
        bytes = 0
      }
      text += row
      bytes += rowBytes
      this.onLine?.(entry)
    }
    while (this.#tailSize > this.#options.tailBytes && this.#tail.length > 1)
      this.#tailSize -= sizeOf(this.#tail.shift() as LogLine)
    this.#writeFile(text, bytes)
  }

  #writeFile(text: string, bytes: number): void {
    try {
      if (this.#fd !== undefined && this.#size > 0 && this.#size + bytes > this.#options.maxLogBytes)
        this.#rotate()
      if (this.#fd === undefined) {
        mkdirSync(this.#options.logDir, { recursive: true })
        this.#fd = openSync(this.file, 'a', 0o640)
        this.#size = fstatSync(this.#fd).size
        if (this.#size > 0 && this.#size + bytes > this.#options.maxLogBytes) this.#rotate()
      }
      writeSync(this.#fd as number, text)
      this.#size += bytes
    } catch {
      // A full disk or a removed directory must not stop the supervisor: the tail in memory still has the lines.
      if (this.#fd !== undefined) {
        try {
          closeSync(this.#fd)
        } catch {}
      }
      this.#fd = undefined
    }
  }

  /** x.log.(n-2) → x.log.(n-1) … x.log → x.log.1, then a new x.log. The oldest beyond maxLogFiles is removed. */
  #rotate(): void {
    if (this.#fd !== undefined) closeSync(this.#fd)
    this.#fd = undefined
    const keep = this.#options.maxLogFiles
    if (keep <= 1) rmSync(this.file, { force: true })
    else {
      rmSync(`${this.file}.${keep - 1}`, { force: true })
      for (let i = keep - 2; i >= 1; i--)
        if (existsSync(`${this.file}.${i}`)) renameSync(`${this.file}.${i}`, `${this.file}.${i + 1}`)
      if (existsSync(this.file)) renameSync(this.file, `${this.file}.1`)
    }
    this.#fd = openSync(this.file, 'a', 0o640)
    this.#size = 0
  }
}
