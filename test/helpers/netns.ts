/**
 * Two NATs out of Linux network namespaces, made for one test run and always removed:
 *
 *     provider 10.1.0.2 ── 10.1.0.1 natp 11.0.1.2 ──┐
 *                          (MASQUERADE)             11.0.1.1 pub 11.0.2.1   (the relay; routes between
 *     consumer 10.2.0.2 ── 10.2.0.1 natc 11.0.2.2 ──┘                        the two NATs' outsides)
 *                          (MASQUERADE)
 *
 * The "public" addresses are in 11.0.0.0/8, not a private range: libp2p treats private addresses as
 * local ones and would not offer them for hole punching. Neither inside network has a route from the
 * outside, so the provider and the consumer cannot dial each other; both reach `pub`. Everything lives
 * in the namespaces (their own routes and iptables); the host's default namespace is not touched. Names
 * carry a per-run suffix; `remove` runs in afterAll and, should the run die first, on process exit.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'

export interface Topology {
  /** Namespace names. */
  pub: string
  provider: string
  consumer: string
  /** `ip netns exec <ns>`: a prefix for commands run inside `ns`. */
  exec: (ns: string) => string[]
  /** The relay's addresses as each side's NAT reaches it. */
  pubFromProvider: string
  pubFromConsumer: string
  /** The provider's own address: unreachable from the consumer. */
  providerAddr: string
  /**
   * Forward TCP `port` on the provider's NAT's outside address to the same port of the provider (a port
   * forward on a home router); returns that outside address, which the consumer can then dial.
   */
  forwardToProvider: (port: number) => string
  remove: () => void
}

/** Why the topology cannot be built here, or undefined when it can (root, `ip`, `iptables`). */
export function netnsUnavailable (): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (network namespaces need CAP_NET_ADMIN)'
  for (const tool of ['ip', 'iptables']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `\`${tool}\` is missing (apt-get install ${tool === 'ip' ? 'iproute2' : 'iptables'})`
  }
  return undefined
}

function run (args: string[]): void {
  execFileSync(args[0], args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] })
}

/** Build the topology; on any failure what was made so far is removed. */
export function createTopology (): Topology {
  const id = randomBytes(3).toString('hex')
  const ns = { pub: `lh${id}-pub`, natp: `lh${id}-natp`, natc: `lh${id}-natc`, provider: `lh${id}-prov`, consumer: `lh${id}-cons` }
  const made: string[] = []
  const remove = (): void => {
    // deleting a namespace deletes its interfaces, their veth peers, its routes and its iptables
    for (const name of made.splice(0)) spawnSync('ip', ['netns', 'del', name])
    process.off('exit', remove)
  }
  process.on('exit', remove)
  const inNs = (name: string, ...args: string[]): void => { run(['ip', 'netns', 'exec', name, ...args]) }
  try {
    for (const name of Object.values(ns)) {
      run(['ip', 'netns', 'add', name])
      made.push(name)
      inNs(name, 'ip', 'link', 'set', 'lo', 'up')
    }
    /** A veth pair between `a` and `b` (interface names ≤ 15 characters), addressed. */
    const link = (a: string, aAddr: string, b: string, bAddr: string, tag: string): void => {
      const ia = `v${id}${tag}a`
      const ib = `v${id}${tag}b`
      run(['ip', 'link', 'add', ia, 'netns', a, 'type', 'veth', 'peer', 'name', ib, 'netns', b])
      inNs(a, 'ip', 'addr', 'add', aAddr, 'dev', ia)
      inNs(a, 'ip', 'link', 'set', ia, 'up')
      inNs(b, 'ip', 'addr', 'add', bAddr, 'dev', ib)
      inNs(b, 'ip', 'link', 'set', ib, 'up')
    }
    link(ns.pub, '11.0.1.1/24', ns.natp, '11.0.1.2/24', 'p')
    link(ns.pub, '11.0.2.1/24', ns.natc, '11.0.2.2/24', 'c')
    link(ns.natp, '10.1.0.1/24', ns.provider, '10.1.0.2/24', 'i')
    link(ns.natc, '10.2.0.1/24', ns.consumer, '10.2.0.2/24', 'j')
    inNs(ns.pub, 'sysctl', '-qw', 'net.ipv4.ip_forward=1')
    for (const [nat, outside, gw] of [[ns.natp, `v${id}pb`, '11.0.1.1'], [ns.natc, `v${id}cb`, '11.0.2.1']]) {
      inNs(nat, 'sysctl', '-qw', 'net.ipv4.ip_forward=1')
      inNs(nat, 'ip', 'route', 'add', 'default', 'via', gw)
      inNs(nat, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', outside, '-j', 'MASQUERADE')
    }
    inNs(ns.provider, 'ip', 'route', 'add', 'default', 'via', '10.1.0.1')
    inNs(ns.consumer, 'ip', 'route', 'add', 'default', 'via', '10.2.0.1')
  } catch (err) {
    remove()
    throw new Error(`could not build the NAT topology: ${(err as { stderr?: Buffer }).stderr?.toString() ?? (err as Error).message}`, { cause: err })
  }
  return {
    pub: ns.pub,
    provider: ns.provider,
    consumer: ns.consumer,
    exec: (name) => ['ip', 'netns', 'exec', name],
    pubFromProvider: '11.0.1.1',
    pubFromConsumer: '11.0.2.1',
    providerAddr: '10.1.0.2',
    forwardToProvider: (port) => {
      inNs(ns.natp, 'iptables', '-t', 'nat', '-A', 'PREROUTING', '-i', `v${id}pb`, '-p', 'tcp', '--dport', String(port), '-j', 'DNAT', '--to-destination', `10.1.0.2:${port}`)
      return '11.0.1.2'
    },
    remove
  }
}
