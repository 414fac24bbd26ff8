import { Node as NewNode } from '../dist/index.js'
import { Node as OldNode } from './dist/index.js'
import { closedLoop } from '../../../bench/harness.js'
async function run(N: any, c: number) {
  const node = new N({ name: 'b' })
  node.route('svc', { type: 'rep', bind: 'inproc://s' }).on('add', ({ body }: any) => body.a + body.b)
  const req = node.route('client', { type: 'req', connect: 'inproc://s' })
  await node.start()
  const r = await closedLoop(() => req.request('add', { a: 1, b: 2 }), c, 250, 50)
  await node.close()
  return r.rate
}
const med = (x: number[]) => [...x].sort((a, b) => a - b)[x.length >> 1]
for (const c of [1, 100]) {
  const o: number[] = [],
    n: number[] = []
  for (let i = 0; i < 16; i++) {
    o.push(await run(OldNode, c))
    n.push(await run(NewNode, c))
  }
  const ratios = o.map((v, i) => n[i] / v)
  console.log(
    `c${c} old median ${Math.round(med(o))} new median ${Math.round(med(n))} median pair ratio new/old ${med(ratios).toFixed(3)}`,
  )
}
