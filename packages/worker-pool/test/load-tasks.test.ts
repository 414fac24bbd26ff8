import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { pool } from './helpers.js'

const TYPED = new URL('./fixtures/typed-tasks.mts', import.meta.url)

describe('tasks modules written in TypeScript', () => {
  it('run on threads through the tsx installed next to them, without any loader flag', async () => {
    const p = await pool({ tasks: TYPED, threads: 1 })
    expect(await p.defer('mul', { a: 6, b: 7 })).toBe(42)
  })

  it('fail with DD_ERR_WORKER_START and say what to do when no tsx is installed next to them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dd-ts-tasks-'))
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    const lonely = join(dir, 'tasks.mts')
    copyFileSync(TYPED, lonely)
    const p = await pool({ tasks: lonely, threads: 1 })
    await expect(p.defer('mul', { a: 1, b: 2 })).rejects.toMatchObject({
      code: 'DD_ERR_WORKER_START',
      message: expect.stringContaining('npm i -D tsx'),
    })
  })
})
