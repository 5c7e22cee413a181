/**
 * Separate "hosts" on this machine for the replica tests: one network namespace each (`ip netns`),
 * joined to the root namespace by a veth pair on a /24 of 10.231.0.0/16 that the test assigns and
 * removes. Postgres and the simulators listen on 127.0.0.1 only, so each forwarded port has two
 * socat relays: one in the root namespace on the host's veth peer address (→ 127.0.0.1:PORT), one
 * inside the namespace on its own loopback (→ the peer address). A replica's traffic therefore
 * leaves its namespace from its own address. Nothing touches the machine's other interfaces.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import net from 'node:net'

export interface TestHost {
  index: number
  /** Namespace name. */
  ns: string
  /** The host's own address (inside the namespace). */
  address: string
  /** Its peer in the root namespace, where the root relays listen. */
  peer: string
}

export interface TestNetwork {
  hosts: TestHost[]
  /** Spawn `command` inside host `i`'s namespace with its own UTS namespace and host name. */
  spawnOn(i: number, hostName: string, argv: string[], env: NodeJS.ProcessEnv): ChildProcess
  close(): void
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString()

/** Resolves once `host:port` accepts a TCP connection (from this namespace). */
async function waitForPort(host: string, port: number, ms = 10_000): Promise<void> {
  const until = Date.now() + ms
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host, port }, () => {
        s.destroy()
        resolve(true)
      })
      s.on('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > until) throw new Error(`relay ${host}:${port} did not come up`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/**
 * `count` hosts; `ports` are the loopback ports (Postgres, simulators) every host reaches through
 * relays. `subnet` picks 10.231.<subnet+i>.0/24 and must be free on this machine.
 */
export async function createTestNetwork(count: number, ports: number[], tag = String(process.pid % 10000)): Promise<TestNetwork> {
  const routes = ip('-4', 'route', 'show')
  const base = 10 + (Number(tag) % 200)
  const hosts: TestHost[] = []
  const relays: ChildProcess[] = []
  const links: string[] = []
  const close = () => {
    for (const r of relays) if (r.exitCode === null && r.signalCode === null) r.kill('SIGKILL')
    for (const h of hosts) {
      try {
        ip('netns', 'del', h.ns)
      } catch {}
    }
    for (const l of links) {
      try {
        ip('link', 'del', l)
      } catch {}
    }
  }
  try {
    for (let i = 0; i < count; i++) {
      const net3 = `10.231.${base + i}`
      if (routes.includes(`${net3}.0/24`)) throw new Error(`${net3}.0/24 is already routed on this machine; pick another tag`)
      const ns = `cetl${tag}h${i}`
      const outer = `cetl${tag}a${i}`
      const inner = `cetl${tag}b${i}`
      const host: TestHost = { index: i, ns, address: `${net3}.2`, peer: `${net3}.1` }
      ip('netns', 'add', ns)
      hosts.push(host)
      ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner)
      links.push(outer)
      ip('link', 'set', inner, 'netns', ns)
      ip('addr', 'add', `${host.peer}/24`, 'dev', outer)
      ip('link', 'set', outer, 'up')
      ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${host.address}/24`, 'dev', inner)
      ip('netns', 'exec', ns, 'ip', 'link', 'set', inner, 'up')
      ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up')
      for (const port of ports) {
        relays.push(
          spawn('socat', [`TCP-LISTEN:${port},bind=${host.peer},reuseaddr,fork`, `TCP:127.0.0.1:${port}`], { stdio: 'ignore' }),
          spawn('ip', ['netns', 'exec', ns, 'socat', `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`, `TCP:${host.peer}:${port}`], { stdio: 'ignore' }),
        )
      }
    }
    for (const h of hosts) for (const port of ports) await waitForPort(h.peer, port)
  } catch (err) {
    close()
    throw err
  }
  return {
    hosts,
    spawnOn(i, hostName, argv, env) {
      const h = hosts[i]!
      // ip netns exec and unshare exec in place and sh ends in exec: the child's pid is node's.
      return spawn('ip', ['netns', 'exec', h.ns, 'unshare', '--uts', 'sh', '-c', 'hostname "$0" && exec "$@"', hostName, ...argv], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    },
    close,
  }
}
