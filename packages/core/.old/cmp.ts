import { Node as NewNode } from '../dist/index.js'
import { Node as OldNode } from './dist/index.js'
import { closedLoop } from '../../../bench/harness.js'
async function run(N: any, c: number) {
  const node = new N({ name: 'b' })
  node.route('svc', { type: 'rep', bind: 'inproc://s' }).on('add', ({ body }: any) => body.a + body.b)
  const req = node.route('client', { type: 'req', connect: 'inproc://s' })
  await node.start()
  const r = await closedLoop(() => req.request('add', { a: 1, b: 2 }), c, 500)
  await node.close()
  return Math.round(r.rate)
}
for (const c of [1, 100])
  for (let i = 0; i < 6; i++) console.log(c, 'old', await run(OldNode, c), 'new', await run(NewNode, c))
