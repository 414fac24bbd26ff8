import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

// Each package must install and work on its own, outside the monorepo: pack it the way it is published
// (pnpm pack rewrites workspace:^ to real versions), install the tarballs into a fresh project, import them.
const root = resolve(import.meta.dirname, '..')
const work = mkdtempSync(join(tmpdir(), 'dripdrop-pack-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

const pnpm = (args: string[], cwd: string) =>
  execFileSync('npx', ['-y', 'pnpm@12.4.2', ...args], { cwd, encoding: 'utf8', stdio: 'pipe' })

describe('packages install outside the repo', () => {
  it('packs @dripdrop/codec and @dripdrop/core, installs the tarballs with npm and uses them', () => {
    for (const pkg of ['codec', 'core'])
      pnpm(['pack', '--pack-destination', work], join(root, 'packages', pkg))
    const tarballs = readdirSync(work).filter((f) => f.endsWith('.tgz'))
    expect(tarballs.sort()).toEqual([
      expect.stringMatching(/^dripdrop-codec-.*\.tgz$/),
      expect.stringMatching(/^dripdrop-core-.*\.tgz$/),
    ])
    const app = join(work, 'app')
    execFileSync('mkdir', ['-p', app])
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }))
    execFileSync(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs.map((t) => join(work, t))],
      {
        cwd: app,
        stdio: 'pipe',
      },
    )
    writeFileSync(
      join(app, 'main.js'),
      `import { MsgpackCodec } from '@dripdrop/codec'
import { Node } from '@dripdrop/core'
const codec = new MsgpackCodec()
const frame = codec.encode({ name: 'hi', head: {}, body: [1, 2] })
const node = new Node({ name: 'outside' })
const rep = node.route('rep', { type: 'rep', bind: 'inproc://svc' })
const req = node.route('req', { type: 'req', connect: 'inproc://svc' })
rep.on('double', ({ body }) => body * 2)
await node.start()
const reply = await req.request('double', 21)
await node.close()
console.log(JSON.stringify({ decoded: codec.decode(frame), reply: reply.body }))
`,
    )
    const out = execFileSync(process.execPath, ['main.js'], { cwd: app, encoding: 'utf8' })
    expect(JSON.parse(out)).toEqual({ decoded: { name: 'hi', head: {}, body: [1, 2] }, reply: 42 })
    // Types ship too.
    expect(
      readdirSync(join(app, 'node_modules/@dripdrop/core/dist')).filter((f) => f.endsWith('.d.ts')).length,
    ).toBeGreaterThan(3)
  }, 120_000)

  it('packs the transports and the worker pool too: each installs with its own dependencies and loads', () => {
    const dir = join(work, 'all')
    execFileSync('mkdir', ['-p', dir])
    const names = ['codec', 'core', 'zmq', 'bridges', 'worker-pool']
    for (const pkg of names) pnpm(['pack', '--pack-destination', dir], join(root, 'packages', pkg))
    const tarballs = readdirSync(dir).filter((f) => f.endsWith('.tgz'))
    expect(tarballs).toHaveLength(names.length)
    const app = join(dir, 'app')
    execFileSync('mkdir', ['-p', app])
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }))
    execFileSync(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs.map((t) => join(dir, t))],
      { cwd: app, stdio: 'pipe' },
    )
    writeFileSync(
      join(app, 'main.js'),
      `import { zmqTransport } from '@dripdrop/zmq'
import { httpTransport, wsTransport } from '@dripdrop/bridges'
import { createPool, defineTasks } from '@dripdrop/worker-pool'
console.log(JSON.stringify([zmqTransport().schemes, httpTransport().schemes, wsTransport().schemes, typeof createPool, typeof defineTasks]))
`,
    )
    const out = execFileSync(process.execPath, ['main.js'], { cwd: app, encoding: 'utf8' })
    expect(JSON.parse(out)).toEqual([['tcp', 'ipc'], ['http'], ['ws'], 'function', 'function'])
    // The worker CLI is installed as a bin.
    expect(readdirSync(join(app, 'node_modules/.bin'))).toContain('dripdrop-worker')
  }, 180_000)
})
