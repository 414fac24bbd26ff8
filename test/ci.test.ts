import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '..')

describe('CI runs what the README promises', () => {
  it('.ci/run ends with exactly the test command of the README quick start', () => {
    const readme = readFileSync(resolve(root, 'README.md'), 'utf8')
    const ci = readFileSync(resolve(root, '.ci/run'), 'utf8')
    const command = /# run the tests\n(.+)\n/.exec(readme)?.[1]
    expect(command).toBeDefined()
    const lastLine = ci.trim().split('\n').at(-1)
    expect(lastLine).toBe(command)
  })
})
