import { describe, expect, it } from 'vitest'
import { STATUS_ERROR, STATUS_OK } from '../src/index.js'
import { CLONE_VALUES, TaskRunner } from '../src/task-runner.js'
import type { TaskFunction } from '../src/tasks.js'

function runner(fns: Record<string, TaskFunction>) {
  const sent: unknown[][] = []
  const r = new TaskRunner(new Map(Object.entries(fns)), CLONE_VALUES, (results) => sent.push(results))
  return { r, sent }
}

describe('TaskRunner', () => {
  it('answers a batch of synchronous tasks right away, in order', () => {
    const { r, sent } = runner({ inc: (x: number) => x + 1 })
    r.run([1, 'inc', 1, 2, 'inc', 2, 3, 'nope', 0])
    // One message, unless the batch ran longer than the runner's flush period (a loaded machine): then several.
    expect(sent.length).toBeGreaterThanOrEqual(1)
    const res = sent.flat()
    expect(res.slice(0, 6)).toEqual([1, STATUS_OK, 2, 2, STATUS_OK, 3])
    expect(res.slice(6, 8)).toEqual([3, STATUS_ERROR])
    expect(res[8]).toMatchObject({ name: 'UnknownTaskError', code: 'DD_ERR_UNKNOWN_TASK' })
  })

  it('gathers async results that settle in the same tick into one message', async () => {
    const { r, sent } = runner({ later: async (x: number) => x * 10 })
    r.run([1, 'later', 1, 2, 'later', 2])
    expect(sent).toHaveLength(0)
    expect(r.running).toBe(2)
    await new Promise((res) => setImmediate(res))
    expect(sent).toEqual([[1, STATUS_OK, 10, 2, STATUS_OK, 20]])
    expect(r.running).toBe(0)
  })

  it('cancel aborts the task signal and drops its result', async () => {
    let seen: AbortSignal | undefined
    const { r, sent } = runner({
      wait: (_: unknown, { signal }) => {
        seen = signal
        return new Promise((res) => signal.addEventListener('abort', () => res('late')))
      },
    })
    r.run([5, 'wait', null])
    r.cancel([5, 99])
    expect(seen?.aborted).toBe(true)
    await new Promise((res) => setImmediate(res))
    expect(sent).toEqual([])
    expect(r.running).toBe(0)
  })

  it('turns a thrown error into its wire form with the stack', () => {
    const { r, sent } = runner({
      fail: () => {
        throw Object.assign(new Error('bad'), { code: 'E_BAD', data: { id: 3 } })
      },
    })
    r.run([1, 'fail', null])
    expect(sent[0][2]).toMatchObject({ name: 'Error', code: 'E_BAD', message: 'bad', data: { id: 3 } })
    expect((sent[0][2] as { stack: string }).stack).toContain('task-runner.test.ts')
  })
})
