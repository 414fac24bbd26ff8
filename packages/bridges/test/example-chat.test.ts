import { describe, expect, it } from 'vitest'
import { launchChromium } from './support/chromium.js'
import { startExample } from './support/process.js'

const CHAT = 'examples/bridges/chat/chat-server.ts'

describe('examples/bridges/chat', () => {
  it('two processes share one room through ZeroMQ: typed in one browser, shown in a browser of the other', async () => {
    const first = await startExample(CHAT)
    const second = await startExample(CHAT, [first.info.hub.in, first.info.hub.out])
    expect(first.child.pid).not.toBe(second.child.pid)
    const browser = await launchChromium()
    const [a, b] = [await browser.newPage(), await browser.newPage()]
    await a.goto(first.info.ws.replace('ws://', 'http://'))
    await b.goto(second.info.ws.replace('ws://', 'http://'))
    await a.waitForSelector('body[data-ready]')
    await b.waitForSelector('body[data-ready]')
    await a.fill('#text', 'hello from process one')
    await a.click('#send')
    await b.waitForSelector('#log li')
    expect(await b.locator('#log li').allTextContents()).toEqual(['hello from process one'])
    await b.fill('#text', 'and back from process two')
    await b.click('#send')
    await a.waitForFunction("document.querySelectorAll('#log li').length === 2")
    expect(await a.locator('#log li').allTextContents()).toEqual([
      'hello from process one',
      'and back from process two',
    ])
    // The sender's connection id travels with the message (head.$conn on the server).
    const from = await b.locator('#log li').first().getAttribute('data-from')
    expect(from).toBe(await a.evaluate('document.body.dataset.ready'))
  })
})
