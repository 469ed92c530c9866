/**
 * Redirects and links through `gateway` (issue 15, item 4): a small static site behind `serve`, read
 * through `gateway` at `/p2p/<peer>/…` by plain HTTP (every redirect form) and by headless Chromium
 * (its CSS applied, its script run, its image decoded, its redirect followed to the right page). Real
 * processes of the command; the site is a Node server in this process.
 *
 * Chromium is Debian's (`/usr/bin/chromium`, installed by `.ci/run`): with CI=true a missing one fails
 * the browser test, elsewhere it is skipped with the reason printed.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCLI, spawnCLI } from '../helpers/cli.js'
import type { CLIProcess } from '../helpers/cli.js'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

const CHROMIUM = '/usr/bin/chromium'
const haveChromium = existsSync(CHROMIUM)
const ci = process.env.CI === 'true'
if (!haveChromium && !ci) console.log(`gateway-browser: skipping the browser test: ${CHROMIUM} is missing (install Debian's chromium; .ci/run does)`)

// a 1×1 PNG
const DOT = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64')
const HELLO = `<!doctype html>
<html><head><title>hello</title>
<link rel="stylesheet" href="/style.css">
</head><body>
<h1>hello</h1>
<img id="dot" src="img/dot.png" alt="">
<a id="absolute" href="/about">about (absolute)</a>
<a id="relative" href="about">about (relative)</a>
<script src="js/app.js"></script>
</body></html>`

let dir: string
let site: Server
let provider: CLIProcess
let gw: CLIProcess
let providerId: string
let gatewayBase: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'libp2phttp-gateway-browser-'))
  site = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://site').pathname
    const send = (type: string, body: string | Buffer): void => { res.writeHead(200, { 'content-type': type }).end(body) }
    if (path === '/') res.writeHead(302, { location: '/hello' }).end()
    else if (path === '/hello') send('text/html; charset=utf-8', HELLO)
    else if (path === '/about') send('text/html; charset=utf-8', '<!doctype html><title>about</title><p>about page</p>')
    else if (path === '/style.css') send('text/css', 'body { background-color: rgb(1, 2, 3) }')
    else if (path === '/js/app.js') send('text/javascript', 'document.body.dataset.ran = "yes"')
    else if (path === '/img/dot.png') send('image/png', DOT)
    // an absolute URL built from the Host the proxy says the client used
    else if (path === '/self') res.writeHead(302, { location: `http://${String(req.headers['x-forwarded-host'])}/hello`, 'content-location': '/hello' }).end()
    else if (path === '/away') res.writeHead(302, { location: 'https://elsewhere.example/x' }).end()
    else res.writeHead(404).end('not found')
  })
  await new Promise<void>(resolve => site.listen(0, '127.0.0.1', resolve))
  const upstream = `http://127.0.0.1:${(site.address() as AddressInfo).port}`
  const consumerId = (await runCLI(['id', '--key', join(dir, 'consumer')])).out[0]
  // the site at the peer's root and as /x/web (mounted by the host, which redirects /x/web to /x/web/)
  await writeFile(join(dir, 'serve.json'), JSON.stringify({
    listen: ['/ip4/127.0.0.1/tcp/0'],
    services: [{ upstream, allow: [consumerId] }, { upstream, protocol: '/x/web', allow: [consumerId] }]
  }))
  provider = spawnCLI(['serve', '--config', join(dir, 'serve.json'), '--key', join(dir, 'provider')])
  providerId = /^peer (\S+)$/.exec(await provider.line(/^peer /))?.[1] ?? ''
  const to = /--to (\S+)/.exec(await provider.line(/^on the consumer: /))?.[1] ?? ''
  gw = spawnCLI(['gateway', '--port', '0', '--connect', to, '--key', join(dir, 'consumer')])
  gatewayBase = await gw.line(/^http:\/\/127\.0\.0\.1:\d+\/p2p\/$/)
})

afterAll(async () => {
  await Promise.all([provider?.kill(), gw?.kill()])
  await new Promise(resolve => site?.close(resolve))
  if (dir != null) await rm(dir, { recursive: true, force: true })
})

describe('gateway: redirects stay under /p2p/<peer>/', () => {
  const redirect = async (path: string, headers: Record<string, string> = {}): Promise<{ status: number, location: string | null, contentLocation: string | null }> => {
    const res = await fetch(`${gatewayBase}${providerId}${path}`, { redirect: 'manual', headers })
    await res.arrayBuffer()
    return { status: res.status, location: res.headers.get('location'), contentLocation: res.headers.get('content-location') }
  }

  it('an upstream\'s 302 Location: /hello points at the peer\'s /hello through the gateway', async () => {
    expect(await redirect('/')).toMatchObject({ status: 302, location: `/p2p/${providerId}/hello` })
  })

  it('the host\'s own mount redirect /x/web → /x/web/ stays under the peer', async () => {
    expect(await redirect('/x/web')).toMatchObject({ status: 308, location: `/p2p/${providerId}/x/web/` })
  })

  it('an absolute URL at the gateway\'s origin (built from X-Forwarded-Host), and Content-Location, are moved under the peer', async () => {
    expect(await redirect('/self')).toEqual({ status: 302, location: `/p2p/${providerId}/hello`, contentLocation: `/p2p/${providerId}/hello` })
  })

  it('a redirect to another site is left alone', async () => {
    expect(await redirect('/away')).toMatchObject({ status: 302, location: 'https://elsewhere.example/x' })
  })

  it('a page\'s absolute-path link (/style.css) is sent back under the page\'s peer by its Referer', async () => {
    const res = await fetch(new URL('/style.css', gatewayBase), { redirect: 'manual', headers: { referer: `${gatewayBase}${providerId}/hello` } })
    await res.arrayBuffer()
    expect(res.status).toBe(307)
    expect(res.headers.get('location')).toBe(`/p2p/${providerId}/style.css`)
    // without a Referer from a gateway page it stays a 404
    const plain = await fetch(new URL('/style.css', gatewayBase), { redirect: 'manual' })
    await plain.arrayBuffer()
    expect(plain.status).toBe(404)
  })
})

describe('gateway in headless Chromium', () => {
  it.skipIf(!haveChromium && !ci)('a static site through the gateway: CSS applied, script run, image loaded, redirect and links followed', async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing (CI=true: .ci/run installs it)`).toBe(true)
    const { chromium } = await import('playwright-core')
    const profile = await mkdtemp(join(tmpdir(), 'libp2phttp-chromium-'))
    // a fresh profile: nothing cached from an earlier run
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync']
    })
    try {
      const page = await browser.newPage()
      const home = `${gatewayBase}${providerId}/`
      await page.goto(home)
      // the upstream's 302 landed on its /hello, under the peer
      expect(page.url()).toBe(`${gatewayBase}${providerId}/hello`)
      expect(await page.title()).toBe('hello')
      // /style.css (absolute path), js/app.js and img/dot.png (relative)
      await page.waitForFunction(() => document.body.dataset.ran === 'yes', undefined, { timeout: 10_000 })
      expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(1, 2, 3)')
      await page.waitForFunction(() => (document.getElementById('dot') as HTMLImageElement).complete, undefined, { timeout: 10_000 })
      expect(await page.evaluate(() => (document.getElementById('dot') as HTMLImageElement).naturalWidth)).toBeGreaterThan(0)
      for (const link of ['#absolute', '#relative']) {
        await page.goto(`${gatewayBase}${providerId}/hello`)
        await Promise.all([page.waitForURL(`${gatewayBase}${providerId}/about`, { timeout: 10_000 }), page.click(link)])
        expect(await page.textContent('p')).toBe('about page')
      }
    } finally {
      await browser.close()
      await rm(profile, { recursive: true, force: true })
    }
  }, 60_000)
})
