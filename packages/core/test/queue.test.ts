import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Queue } from '../src/internal.js'

describe('Queue', () => {
  it('behaves like an array used as a FIFO, across growth and wrap-around', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer(), fc.constant('shift' as const)), { maxLength: 500 }),
        (ops) => {
          const q = new Queue<number>(2)
          const model: number[] = []
          for (const op of ops) {
            if (op === 'shift') {
              if (model.length === 0) continue
              expect(q.shift()).toBe(model.shift())
            } else {
              q.push(op)
              model.push(op)
            }
            expect(q.length).toBe(model.length)
            expect(q.peek()).toBe(model[0])
          }
          expect([...q]).toEqual(model)
          expect(q.clear()).toBe(model.length)
          expect(q.length).toBe(0)
        },
      ),
    )
  })
})
