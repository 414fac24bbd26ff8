/**
 * `pnpm bench bridges`: the HTTP and WebSocket routes of @dripdrop/bridges against the bare library doing the
 * same JSON echo, each server in its own child process (bench/bridges/*), the load from this one, all on
 * 127.0.0.1.
 *
 * - HTTP: requests/s of `POST /echo` with a ~100-byte JSON body, autocannon at 50 connections, against a bare
 *   node:http handler (read body, JSON.parse, JSON.stringify). Target: ratio >= 0.9.
 * - WebSocket: echoes/s with 100-byte bodies over 50 connections (8 in flight on each), against a bare `ws`
 *   server that parses and answers the same frames. Target: ratio >= 0.9.
 *
 * The two sides are measured ROUNDS times each, interleaved (the side that goes first alternates, so neither
 * always runs on a machine still busy with the other's teardown), each run on a fresh server process after a
 * short warm-up (so both sides are measured JIT-warm), and the median of each side's runs is printed: a
 * shared 2-core machine disturbs single runs in both directions, the median of interleaved rounds holds.
 * Every run is bounded in time (`BENCH_MS`, default 2000 ms) and count.
 *
 * Fairness: both HTTP servers do the same work per request (read the whole body, JSON.parse, JSON.stringify,
 * answer 200 with content-type and content-length) and get the same server options (keep-alive 5 s). The
 * load comes from one autocannon instance in this process, so the server and the load generator get one
 * core each; the same generator loads both sides.
 *
 * Run after building codec, core and bridges: `node --import tsx bench/bridges.bench.ts`.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { WebSocket } from 'ws'
import { compare, section } from './harness.js'

const here = dirname(fileURLToPath(import.meta.url))
const MS = Number(process.env.BENCH_MS ?? 2000)
const ROUNDS = 5
const WARMUP_MS = 500
const CONNECTIONS = 50
const WINDOW = 8
const MAX_MESSAGES = 5_000_000
const TARGET = 0.9
const BODY = { text: 'x'.repeat(86) } // {"text":"xxx…"} is 100 bytes of JSON

async function startServer(file: string, kind: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'bridges', file), kind], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())))
    child.once('exit', (code) => reject(new Error(`${file} ${kind} exited with ${code}`)))
  })
  return { child, port }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  await exited
}

async function load(port: number, ms: number) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/echo`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(BODY),
    connections: CONNECTIONS,
    duration: ms / 1000,
    maxOverallRequests: MAX_MESSAGES,
  })
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`)
  return result
}

async function httpRun(port: number): Promise<number> {
  await load(port, WARMUP_MS)
  const result = await load(port, MS)
  // Completed requests over the run's real duration (autocannon's mean of per-second samples drops the
  // last partial second).
  return result.requests.total / result.duration // duration in s
}

// Closed loop: every connection keeps WINDOW requests in flight and sends the next one as each reply lands.
async function wsRun(port: number): Promise<number> {
  const sockets = await Promise.all(
    Array.from(
      { length: CONNECTIONS },
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false })
          ws.once('open', () => resolve(ws))
          ws.once('error', reject)
        }),
    ),
  )
  const body = JSON.stringify(BODY)
  let count = 0
  let counting = false
  let running = true
  let seq = 0
  const frame = () => `[1,"echo",{"$id":${++seq}},${body}]`
  for (const ws of sockets) {
    ws.on('message', (data) => {
      // The dripdrop server greets each connection first; only replies ($re) count.
      if ((data as Buffer).indexOf('"$re"') === -1) return
      if (counting) count++
      if (running && count < MAX_MESSAGES) ws.send(frame())
    })
    for (let i = 0; i < WINDOW; i++) ws.send(frame())
  }
  await new Promise((r) => setTimeout(r, WARMUP_MS))
  counting = true
  const start = performance.now()
  await new Promise((r) => setTimeout(r, MS))
  const elapsed = performance.now() - start
  const n = count
  running = false
  for (const ws of sockets) ws.terminate()
  return (n * 1000) / elapsed
}

async function side(file: string, kind: string, run: (port: number) => Promise<number>): Promise<number> {
  const { child, port } = await startServer(file, kind)
  try {
    return await run(port)
  } finally {
    await stop(child)
  }
}

async function pair(
  bench: string,
  unit: string,
  peer: string,
  file: string,
  run: (port: number) => Promise<number>,
) {
  const dripdrop: number[] = []
  const bare: number[] = []
  for (let i = 0; i < ROUNDS; i++) {
    if (i % 2 === 0) {
      dripdrop.push(await side(file, 'dripdrop', run))
      bare.push(await side(file, 'bare', run))
    } else {
      bare.push(await side(file, 'bare', run))
      dripdrop.push(await side(file, 'dripdrop', run))
    }
  }
  compare({ bench, unit, dripdrop: median(dripdrop), peer, peerValue: median(bare), target: TARGET })
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

section(`bridges: JSON echo, ${CONNECTIONS} connections, median of ${ROUNDS} interleaved rounds x ${MS} ms`)
await pair('bridges.http.echo.c50', 'req/s', 'node:http', 'http-echo-server.ts', httpRun)
await pair('bridges.ws.echo.c50', 'msg/s', 'ws', 'ws-echo-server.ts', wsRun)
