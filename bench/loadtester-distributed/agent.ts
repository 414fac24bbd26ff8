/** One agent process of the distributed benchmark: `agent.ts <endpoint> <agentId>`; prints `ready` once started. */
import { Agent } from '@dripdrop/loadtester'

const [connect, agentId] = process.argv.slice(2) as [string, string]
const agent = new Agent({ connect, agentId })
await agent.start()
process.stdout.write('ready\n')
process.on('SIGTERM', () => void agent.close().then(() => process.exit(0)))
