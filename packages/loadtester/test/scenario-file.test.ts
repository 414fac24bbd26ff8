import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { loadScenario, parseScenario } from '../src/index.js'

function file(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'dd-scenario-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

describe('scenario files', () => {
  it('loads YAML and JSON scenarios of weighted requests', async () => {
    const yaml = await loadScenario(
      file(
        's.yaml',
        'target: http://127.0.0.1:8080\nrequests:\n  - { url: /, weight: 2 }\n  - url: /b\n    method: POST\n    body: { x: 1 }\n',
      ),
    )
    expect(yaml).toMatchObject({
      kind: 'requests',
      target: 'http://127.0.0.1:8080',
      requests: [
        { url: '/', weight: 2 },
        { url: '/b', method: 'POST', body: { x: 1 } },
      ],
    })
    const json = await loadScenario(
      file('s.json', JSON.stringify({ requests: [{ url: 'http://127.0.0.1:1/x', name: 'x' }] })),
    )
    expect(json).toMatchObject({ kind: 'requests', requests: [{ name: 'x' }] })
  })

  it('names the path and the reason of the first invalid field', () => {
    const cases: [unknown, string][] = [
      [{}, '(root): missing field "requests"'],
      [{ requests: [] }, '/requests: must NOT have fewer than 1 items'],
      [{ requests: [{ url: '/', wieght: 2 }] }, '/requests/0: unknown field "wieght"'],
      [{ requests: [{ url: '/' }, { url: '/', weight: 0 }] }, '/requests/1/weight: must be > 0'],
      [{ requests: [{ url: '/', headers: { a: 1 } }] }, '/requests/0/headers/a: must be string'],
      [{ requests: [{ url: 'ftp://x' }] }, '/requests/0/url: must be an absolute http(s) URL'],
      [{ target: 'localhost', requests: [{ url: '/' }] }, '/target: must match pattern'],
    ]
    for (const [doc, message] of cases) {
      expect(() => parseScenario(doc, 'x.yaml')).toThrow(
        expect.objectContaining({
          code: 'DD_ERR_SCENARIO_INVALID',
          message: expect.stringContaining(`x.yaml: ${message}`),
        }),
      )
    }
    expect(() => parseScenario({ requests: [{ url: '/', method: 'GE T' }] })).toThrow(
      expect.objectContaining({ code: 'DD_ERR_SCENARIO_INVALID', path: '/requests/0/method' }),
    )
  })

  it('reports YAML syntax errors with the file and line', async () => {
    await expect(loadScenario(file('bad.yaml', 'requests:\n  - url: /\n   bad: [\n'))).rejects.toMatchObject({
      code: 'DD_ERR_SCENARIO_INVALID',
      message: expect.stringMatching(/bad\.yaml: \(root\): not valid YAML \(line \d+\)/),
    })
    await expect(loadScenario(file('missing.json', '{'))).rejects.toMatchObject({
      code: 'DD_ERR_SCENARIO_INVALID',
    })
  })

  it('loads a module scenario and refuses one without a default function', async () => {
    const ok = await loadScenario(
      file(
        's.mjs',
        "export const target = 'http://127.0.0.1:1'\nexport default (ctx) => ({ path: '/' + ctx.iteration })\n",
      ),
    )
    expect(ok.kind).toBe('module')
    expect(ok.target).toBe('http://127.0.0.1:1')
    await expect(loadScenario(file('n.mjs', 'export default 42\n'))).rejects.toMatchObject({
      code: 'DD_ERR_SCENARIO_INVALID',
      message: expect.stringContaining('must export a default function'),
    })
  })
})
