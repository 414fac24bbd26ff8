import { describe, expect, expectTypeOf, it } from 'vitest'
import { defineTasks, isTask, type Pool, type Task } from '../src/index.js'
import { taskFunctions } from '../src/tasks.js'

describe('defineTasks', () => {
  const tasks = defineTasks({
    add: (args: { a: number; b: number }) => args.a + args.b,
    later: async (name: string) => ({ hello: name }),
  })

  it('returns frozen, named handles that keep the functions', () => {
    expect(tasks.add.taskName).toBe('add')
    expect(tasks.add.fn({ a: 1, b: 2 }, { signal: AbortSignal.abort() })).toBe(3)
    expect(isTask(tasks.later)).toBe(true)
    expect(isTask({ taskName: 'x', fn: () => 1 })).toBe(false)
    expect(Object.isFrozen(tasks)).toBe(true)
  })

  it('keeps argument and result types for pool.defer', () => {
    expectTypeOf(tasks.add).toEqualTypeOf<Task<{ a: number; b: number }, number>>()
    expectTypeOf(tasks.later).toEqualTypeOf<Task<string, { hello: string }>>()
    const check = (pool: Pool) => {
      expectTypeOf(pool.defer(tasks.later, 'x')).toEqualTypeOf<Promise<{ hello: string }>>()
      // @ts-expect-error wrong argument type
      void pool.defer(tasks.add, { a: 1 })
    }
    expect(typeof check).toBe('function')
  })

  it('refuses values that are not functions', () => {
    expect(() => defineTasks({ nope: 42 as unknown as () => void })).toThrow('tasks.nope must be a function')
  })

  it('reads a module: default export of handles, or plain named functions', () => {
    expect([...taskFunctions({ default: tasks }).keys()]).toEqual(['add', 'later'])
    expect([...taskFunctions({ double: (x: number) => x * 2, VERSION: 1 }).keys()]).toEqual(['double'])
  })
})
