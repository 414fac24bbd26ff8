// Docs as tests: every ```ts block of README.md, packages/*/README.md and apps/*/README.md is typechecked
// with `tsc --strict` against the workspace packages (skipLibCheck off, so our published .d.ts are checked
// too), and the blocks marked ```ts run are run with tsx and must exit 0. The markers are described in
// test/support/readme-blocks.ts.
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CodeBlock, moduleSource, parseReadme, readmePaths } from './support/readme-blocks.js'

const root = resolve(import.meta.dirname, '..')
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
const RUN_TIMEOUT_MS = 30_000

/**
 * READMEs whose examples are typechecked but cannot run under tsx yet, and why. Remove an entry (and mark its
 * example ```ts run) once the reason is gone.
 */
const NOT_RUNNABLE_YET: Record<string, string> = {
  'packages/worker-pool/README.md':
    'the pool threads load tasks.js without tsx, so a tasks.ts module is not found (issue 8, worker-pool)',
}

const readmes = readmePaths(root)
const blocks = readmes.flatMap((readme) => parseReadme(readme, readFileSync(join(root, readme), 'utf8')))
const tsBlocks = blocks.filter((b) => b.lang === 'ts')

// Inside the repo, so that `@dripdrop/*` and their dependencies resolve from the root node_modules.
const work = mkdtempSync(join(root, '.doctest-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

const dirOf = (readme: string) =>
  join(work, readme.replace(/\/README\.md$|README\.md$/, '').replace(/\//g, '_') || 'root')
const pathOf = (b: CodeBlock) => join(dirOf(b.readme), b.file)

/** tsc's diagnostics, each mapped back to `README:line` when it points into a block's visible code. */
let diagnostics: string[] = []

beforeAll(() => {
  writeFileSync(join(work, 'package.json'), JSON.stringify({ type: 'module', private: true }))
  writeFileSync(
    join(work, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2022'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        moduleDetection: 'force',
        strict: true,
        skipLibCheck: false,
        noEmit: true,
        esModuleInterop: true,
        types: ['node'],
      },
      include: ['**/*.ts'],
    }),
  )
  const seen = new Set<string>()
  for (const b of tsBlocks) {
    const path = pathOf(b)
    if (seen.has(path)) throw new Error(`${b.readme}:${b.line}: two blocks write ${b.file}`)
    seen.add(path)
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, moduleSource(b).source)
  }
  const r = spawnSync(process.execPath, [tsc, '-p', join(work, 'tsconfig.json'), '--pretty', 'false'], {
    cwd: work,
    encoding: 'utf8',
    timeout: 120_000,
  })
  const out = `${r.stdout}${r.stderr}`.trim()
  diagnostics = out
    ? out
        .split('\n')
        .filter((l) => /error TS\d+/.test(l))
        .map(mapDiagnostic)
    : []
  if (r.status !== 0 && diagnostics.length === 0) throw new Error(`tsc failed: ${out || r.error}`)
}, 150_000)

function mapDiagnostic(line: string): string {
  const m = /^(.+?)\((\d+),(\d+)\): (.*)$/.exec(line)
  if (!m) return line
  const file = resolve(work, m[1])
  const block = tsBlocks.find((b) => pathOf(b) === file)
  if (!block) return `${relative(root, file)}:${m[2]}: ${m[4]}`
  const { firstCodeLine, codeLines } = moduleSource(block)
  const n = Number(m[2])
  const where =
    n < firstCodeLine
      ? `(doctest setup of the block at line ${block.line})`
      : n >= firstCodeLine + codeLines
        ? `(doctest teardown of the block at line ${block.line})`
        : `${block.line + 1 + n - firstCodeLine}:${m[3]}`
  return `${block.readme}:${where}: ${m[4]}`
}

describe('README code blocks', () => {
  it('finds the READMEs and their blocks, every fence labelled', () => {
    expect(readmes).toContain('README.md')
    expect(readmes).toContain('packages/core/README.md')
    // Each package README shows at least one runnable example, except where one cannot run yet.
    for (const readme of readmes.filter((r) => r.startsWith('packages/') && !(r in NOT_RUNNABLE_YET)))
      expect(tsBlocks.filter((b) => b.readme === readme && b.run).length, readme).toBeGreaterThan(0)
  })

  it.each(readmes)('%s: every ts block typechecks with tsc --strict', (readme) => {
    expect(diagnostics.filter((d) => d.startsWith(`${readme}:`))).toEqual([])
  })

  it('the published .d.ts the blocks use typecheck without skipLibCheck', () => {
    expect(diagnostics.filter((d) => !readmes.some((r) => d.startsWith(`${r}:`)))).toEqual([])
  })

  const runnable = tsBlocks.filter((b) => b.run)
  it.each(runnable.map((b) => [`${b.readme}:${b.line}`, b] as const))(
    '%s runs and exits 0',
    (_name, b) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', pathOf(b)], {
        cwd: dirname(pathOf(b)),
        encoding: 'utf8',
        timeout: RUN_TIMEOUT_MS,
        killSignal: 'SIGKILL',
      })
      const why = r.signal
        ? `killed by ${r.signal} after ${RUN_TIMEOUT_MS} ms: it does not exit (close what it opens)`
        : `exit code ${r.status}`
      expect(r.status, `${why}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`).toBe(0)
    },
    RUN_TIMEOUT_MS + 10_000,
  )
})
