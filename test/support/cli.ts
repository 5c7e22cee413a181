import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'

/** The installed entry point (tsx from the project), spawned as a user would run it. */
export const CLI = path.resolve('bin/course-etl.js')

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
  /** The last non-empty line of stderr: `course-etl: CODE: reason` on failure. */
  lastLine: string
}

/** Runs the CLI to its end (SIGKILL after `timeoutMs`); `started` sees the child (to signal it). */
export function runCli(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; started?: (child: ChildProcess) => void },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd,
      env: { ...process.env, LOG_LEVEL: 'warn', DATABASE_URL: '', ETL_CONFIG: '', ...options.env },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    const kill = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000)
    child.on('error', reject)
    options.started?.(child)
    child.on('close', (code) => {
      clearTimeout(kill)
      const lines = stderr.split('\n').filter((l) => l.trim())
      resolve({ code, stdout, stderr, lastLine: lines.at(-1) ?? '' })
    })
  })
}
