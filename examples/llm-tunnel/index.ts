/**
 * An LLM behind libp2p: a tiny fake OpenAI-style server (streaming chat completions as server-sent
 * events) exposed to one peer with `libp2phttp serve`, and reached through `libp2phttp proxy` as an
 * ordinary base URL (`OPENAI_BASE_URL`). The two commands run as real processes, as in two terminals.
 *
 * Run: npm run example:llm-tunnel
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ChildProcess } from 'node:child_process'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** The fake model: `POST /v1/chat/completions` with `stream: true` answers word by word. */
function fakeLLM (req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
    res.writeHead(404).end()
    return
  }
  const words = ['Hello', ' from', ' the', ' other', ' peer', '.']
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  let i = 0
  const next = (): void => {
    if (i === words.length) {
      res.end('data: [DONE]\n\n')
      return
    }
    res.write(`data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: words[i++] } }] })}\n\n`)
    setTimeout(next, 20)
  }
  req.resume().once('end', next)
}

/** Run `libp2phttp …args` from source; resolves with the first stdout line matching `ready`. */
async function command (args: string[], ready: RegExp): Promise<{ proc: ChildProcess, line: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  proc.stderr?.on('data', (c: Buffer) => { err += c.toString() })
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`libp2phttp ${args[0]} did not get ready: ${err}`)) }, 20_000)
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`libp2phttp ${args[0]} exited (${String(code)}): ${err}`)) })
    proc.stdout?.on('data', (c: Buffer) => {
      out += c.toString()
      const found = out.split('\n').find(l => ready.test(l))
      if (found != null) { clearTimeout(timer); resolve(found) }
    })
  })
  return { proc, line }
}

async function stop (proc: ChildProcess | undefined): Promise<void> {
  if (proc == null || proc.exitCode != null) return
  const exited = new Promise(resolve => proc.once('exit', resolve))
  proc.kill('SIGTERM')
  await exited
}

async function idOf (keyFile: string): Promise<string> {
  return (await command(['id', '--key', keyFile], /^12D3/)).line
}

export async function main (log: (line: string) => void = console.log): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'llm-tunnel-'))
  const llm = createServer(fakeLLM)
  await new Promise<void>(resolve => llm.listen(0, '127.0.0.1', resolve))
  const upstream = `http://127.0.0.1:${(llm.address() as AddressInfo).port}`
  let provider: ChildProcess | undefined
  let consumer: ChildProcess | undefined
  try {
    log(`fake LLM at ${upstream}`)
    const consumerId = await idOf(join(dir, 'consumer.key'))
    // terminal 1, next to the model
    const serve = await command(['serve', '--upstream', upstream, '--protocol', '/x/llm/1', '--listen', '/ip4/127.0.0.1/tcp/0', '--allow', consumerId, '--key', join(dir, 'provider.key')], /^on the consumer: /)
    provider = serve.proc
    log('$ libp2phttp serve --upstream … --protocol /x/llm/1 --allow <consumer>')
    const to = /--to (\S+)/.exec(serve.line)?.[1] ?? ''
    // terminal 2, where the application runs
    const proxy = await command(['proxy', '--to', to, '--protocol', '/x/llm/1', '--port', '0', '--key', join(dir, 'consumer.key')], /^http:\/\//)
    consumer = proxy.proc
    const base = `${proxy.line}v1`
    log(`$ libp2phttp proxy --to … --protocol /x/llm/1  →  OPENAI_BASE_URL=${base.replace(/:\d+\//, ':PORT/')}`)

    // any OpenAI client would do; plain fetch shows the stream arriving
    const res = await fetch(`${base}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'fake', stream: true, messages: [{ role: 'user', content: 'hi' }] })
    })
    log(`${res.status} ${res.headers.get('content-type') ?? ''}`)
    let buffered = ''
    let answer = ''
    let events = 0
    const decoder = new TextDecoder()
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true })
      for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
        const data = buffered.slice(0, end).replace(/^data: /, '')
        buffered = buffered.slice(end + 2)
        if (data === '[DONE]') continue
        events++
        answer += JSON.parse(data).choices[0].delta.content as string
      }
    }
    log(`${events} events: ${answer}`)
  } finally {
    await Promise.all([stop(consumer), stop(provider)])
    llm.closeAllConnections()
    await new Promise(resolve => llm.close(resolve))
    await rm(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
}
