import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

// Each package must install and work on its own, outside the monorepo: pack it the way it is published
// (pnpm pack rewrites workspace:^ to real versions), install the tarballs into a fresh project, import them.
const root = resolve(import.meta.dirname, '..')
const work = mkdtempSync(join(tmpdir(), 'dripdrop-pack-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

const PACKAGES = ['codec', 'core', 'zmq', 'bridges', 'worker-pool', 'monitor', 'roles', 'loadtester']
const REPO_URL = 'https://github.com/dripdrop/dripdrop'
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'))

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
    const out = execFileSync(process.execPath, ['main.js'], { cwd: app, encoding: 'utf8', timeout: 30_000 })
    expect(JSON.parse(out)).toEqual({ decoded: { name: 'hi', head: {}, body: [1, 2] }, reply: 42 })
    // Types ship too.
    expect(
      readdirSync(join(app, 'node_modules/@dripdrop/core/dist')).filter((f) => f.endsWith('.d.ts')).length,
    ).toBeGreaterThan(3)
  }, 120_000)

  it('packs the transports and the worker pool too: each installs with its own dependencies and loads', () => {
    const dir = join(work, 'all')
    execFileSync('mkdir', ['-p', dir])
    const names = PACKAGES
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
    const out = execFileSync(process.execPath, ['main.js'], { cwd: app, encoding: 'utf8', timeout: 30_000 })
    expect(JSON.parse(out)).toEqual([
      ['tcp', 'ipc'],
      ['http', 'https'],
      ['ws', 'wss'],
      'function',
      'function',
    ])
    // The worker CLI is installed as a bin.
    expect(readdirSync(join(app, 'node_modules/.bin'))).toContain('dripdrop-worker')
    // And so are the roles CLI (`dripdrop start|agent|export|keys…`) and zmq's own key command.
    expect(readdirSync(join(app, 'node_modules/.bin'))).toEqual(
      expect.arrayContaining(['dripdrop', 'dripdrop-keys']),
    )
    const help = execFileSync(join(app, 'node_modules/.bin/dripdrop'), ['--help'], {
      encoding: 'utf8',
      timeout: 30_000,
    })
    expect(help).toMatch(/start/)

    // The published types typecheck in a consumer's strict project without skipLibCheck: every type a .d.ts
    // imports must come with the packages' own dependencies (plus @types/node, which any Node project has).
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '@types/node@^20'], {
      cwd: app,
      stdio: 'pipe',
    })
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2022'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: false,
          noEmit: true,
          types: ['node'],
        },
        files: ['consumer.ts'],
      }),
    )
    writeFileSync(
      join(app, 'consumer.ts'),
      `import { type Envelope, MsgpackCodec } from '@dripdrop/codec'
import { Node, type Route } from '@dripdrop/core'
import { zmqTransport } from '@dripdrop/zmq'
import { type HttpHead, httpTransport, wsConnections, wsTransport } from '@dripdrop/bridges'
import { createPool, defineTasks, RemoteWorker } from '@dripdrop/worker-pool'

const env: Envelope<number> = new MsgpackCodec().decode(new Uint8Array()) as Envelope<number>
const node = new Node({ name: 'consumer', transports: [zmqTransport(), httpTransport(), wsTransport()] })
const route: Route = node.route('api', { type: 'http-server', bind: 'http://127.0.0.1:0', routes: {} })
route.on('x', ({ head }) => (head as HttpHead).params)
wsConnections(node.route('ws', { type: 'ws-server', bind: 'ws://127.0.0.1:0' })).ids()
const tasks = defineTasks({ add: (a: { x: number }) => a.x + env.body })
export const pool: Promise<unknown> = createPool({ tasks: new URL('./tasks.js', import.meta.url) })
export const sum: (p: Awaited<ReturnType<typeof createPool>>) => Promise<number> = (p) => p.defer(tasks.add, { x: 1 })
export { RemoteWorker }
`,
    )
    const check = spawnSync(process.execPath, [tsc, '-p', join(app, 'tsconfig.json'), '--pretty', 'false'], {
      cwd: app,
      encoding: 'utf8',
    })
    expect(`${check.stdout}${check.stderr}`).toBe('')
    expect(check.status).toBe(0)
  }, 240_000)

  it('every package builds on prepack, so packing a fresh clone ships dist/', () => {
    for (const pkg of PACKAGES) {
      const manifest = readJson(join(root, 'packages', pkg, 'package.json'))
      // The build of the package and of every workspace package it imports (turbo's `name...` filter).
      expect(manifest.scripts.prepack, pkg).toMatch(
        new RegExp(`turbo run build .*--filter=${manifest.name}\\.\\.\\.`),
      )
    }
    // And a pack runs it and ships the build.
    const dir = mkdtempSync(join(work, 'prepack-'))
    pnpm(['pack', '--pack-destination', dir], join(root, 'packages', 'codec'))
    const listing = execFileSync('tar', ['-tzf', join(dir, readdirSync(dir)[0])], { encoding: 'utf8' })
    expect(listing).toContain('package/dist/index.js')
    expect(listing).toContain('package/dist/index.d.ts')
  }, 120_000)

  it('package READMEs link only what the tarball holds, or by a full URL', () => {
    for (const pkg of PACKAGES) {
      const dir = join(root, 'packages', pkg)
      const manifest = readJson(join(dir, 'package.json'))
      expect(manifest.repository, pkg).toMatchObject({
        url: `git+${REPO_URL}.git`,
        directory: `packages/${pkg}`,
      })
      const readme = readFileSync(join(dir, 'README.md'), 'utf8')
      for (const [, target] of readme.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^(https?:|#|mailto:)/.test(target)) continue
        const path = target.replace(/#.*$/, '')
        const shipped = ['README.md', 'package.json', ...manifest.files].some(
          (f: string) => path === f || path.startsWith(`${f.replace(/\/$/, '')}/`),
        )
        expect({ pkg, target, shipped, exists: existsSync(join(dir, path)) }).toEqual({
          pkg,
          target,
          shipped: true,
          exists: true,
        })
      }
    }
  })
})
