// A raw zeromq.js worker for the remote benchmark: a DEALER that announces its credit, then runs the trivial
// task for every [id, arg] it gets and answers [id, result]. What a user writes by hand.
// argv: broker address, credit.
import { Dealer } from 'zeromq'

const [address, credit] = process.argv.slice(2)
const dealer = new Dealer({ sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 })
dealer.connect(address)
await dealer.send(['ready', credit])
console.log('ready')
process.on('SIGTERM', () => {
  dealer.close()
  process.exit(0)
})
for await (const [id, arg] of dealer) await dealer.send([id, String(Number(arg.toString()) + 1)])
