// `dripdrop export`: the built bin run as a user runs it, its exit codes, stdout and written files.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { exportTopology, loadTopology } from '../src/index.js'

const PKG = resolve(import.meta.dirname, '..')
const BIN = join(PKG, 'dist/cli/dripdrop.js')
const TOPOLOGY = resolve(import.meta.dirname, 'export-fixtures/run.yaml')

function dripdrop(args: string[], cwd = PKG) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 20_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dd-export-cli-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

describe('dripdrop export', () => {
  it('prints one file to stdout, exactly what exportTopology renders', async () => {
    const r = dripdrop([
      'export',
      '--format',
      'kubernetes',
      '--image',
      'shop:1',
      'test/export-fixtures/run.yaml',
    ])
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    const [file] = exportTopology(await loadTopology(TOPOLOGY), {
      format: 'kubernetes',
      image: 'shop:1',
      root: PKG,
    })
    expect(r.stdout).toBe(file.content)
  })

  it('heads each of several files with its path on stdout', () => {
    const r = dripdrop(['export', '-f', 'systemd', TOPOLOGY])
    expect(r.status).toBe(0)
    expect(r.stdout.match(/^# ==> .* <==$/gm)).toEqual([
      '# ==> dripdrop-shop-gateway@.service <==',
      '# ==> dripdrop-shop-worker@.service <==',
      '# ==> dripdrop-shop-worker@2.service.d/addresses.conf <==',
      '# ==> dripdrop-shop.target <==',
    ])
  })

  it('writes the files into --out, creating it', () => {
    const out = join(tempDir(), 'deploy')
    const r = dripdrop(['export', '--format', 'compose', '--out', out, '--root', '.', TOPOLOGY])
    expect(r.status).toBe(0)
    expect(readdirSync(out)).toEqual(['compose.yaml'])
    expect(r.stdout).toBe(`wrote ${join(out, 'compose.yaml')}\n`)
    // the default image mounts the root, written relative to the file's directory
    expect(readFileSync(join(out, 'compose.yaml'), 'utf8')).toContain(`source: ${relative(out, PKG)}\n`)
  })

  it('exits 2 on bad usage, 1 on a bad topology, naming the problem', () => {
    const noFormat = dripdrop(['export', TOPOLOGY])
    expect(noFormat.status).toBe(2)
    expect(noFormat.stderr).toMatch(/required option '-f, --format <format>' not specified/)
    const badFormat = dripdrop(['export', '--format', 'nomad', TOPOLOGY])
    expect(badFormat.status).toBe(2)
    expect(badFormat.stderr).toMatch(/Allowed choices are kubernetes, compose, systemd/)
    const missing = dripdrop(['export', '--format', 'compose', 'no-such-topology.yaml'])
    expect(missing.status).toBe(1)
    expect(missing.stderr).toMatch(/^dripdrop export: DD_ERR_TOPOLOGY: .*no-such-topology\.yaml/)
    const outside = dripdrop(['export', '--format', 'compose', '--root', 'src', TOPOLOGY])
    expect(outside.status).toBe(1)
    expect(outside.stderr).toMatch(/DD_ERR_EXPORT: roles\.gateway\.entry: .* is outside the app root/)
    expect(existsSync(join(PKG, 'compose.yaml'))).toBe(false)
  })

  it('--help lists the formats and exits 0', () => {
    const r = dripdrop(['export', '--help'])
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(
      /--format <format>\s+what to render for \(choices: "kubernetes",\s+"compose", "systemd"\)/,
    )
  })
})
