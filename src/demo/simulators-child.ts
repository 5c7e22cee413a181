/**
 * The demo's simulators in a child process. Their generated data, HTTP servers and per-request CPU
 * then live apart from the ETL and its embedded Postgres: the largest process of `npm run demo` stays
 * smaller, and on two cores the simulators answer while the ETL works. Same data, same limits and the
 * same URLs contract as `startDemoSimulators` (which tests use in-process).
 */
import { fork } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { EtlError } from '../errors.js'
import { startDemoSimulators, type DemoSizes } from './simulators.js'

interface Start {
  sizes: DemoSizes
  env: Record<string, string>
  anchor?: number
}
type Reply = { ok: true; getcourseUrl: string; kwigaUrl: string } | { ok: false; message: string }

export interface ChildSimulators {
  getcourseUrl: string
  kwigaUrl: string
  pid: number
  close(): Promise<void>
}

/** Forks this file (through tsx), hands it the sizes and keys over IPC, and waits for its URLs. */
export async function startDemoSimulatorsInChild(sizes: DemoSizes, env: Record<string, string>, anchor?: number): Promise<ChildSimulators> {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
  const child = fork(fileURLToPath(import.meta.url), [], { execArgv: ['--import', tsx], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const reply = await new Promise<Reply>((resolve) => {
    child.once('message', (m) => resolve(m as Reply))
    child.once('exit', (code) => resolve({ ok: false, message: `simulator process exited with code ${code}` }))
    child.send({ sizes, env, anchor } satisfies Start)
  })
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      if (child.connected) child.disconnect()
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
  }
  if (!reply.ok) {
    await close()
    throw new EtlError('USAGE', `demo simulators did not start: ${reply.message}`)
  }
  return { getcourseUrl: reply.getcourseUrl, kwigaUrl: reply.kwigaUrl, pid: child.pid!, close }
}

// Child side: start on the first message, stop when the parent disconnects (or dies).
if (process.send && process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // Ctrl-C reaches the whole process group: the demo stops after its current batch and then closes
  // the simulators itself, so they must not vanish under it first.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => {})
  process.once('message', async (m: Start) => {
    try {
      const sims = await startDemoSimulators(m.sizes, m.env, m.anchor)
      process.once('disconnect', () => void sims.close().finally(() => process.exit(0)))
      process.send!({ ok: true, getcourseUrl: sims.getcourseUrl, kwigaUrl: sims.kwigaUrl } satisfies Reply)
    } catch (err) {
      process.send!({ ok: false, message: (err as Error).message } satisfies Reply, () => process.exit(1))
    }
  })
}
