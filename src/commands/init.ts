import { existsSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Command } from 'commander'
import { DEFAULT_CONFIG_PATH } from '../config.js'
import { EtlError } from '../errors.js'

/** What `init` writes: every field with its default and meaning; secrets only as ${VAR}. */
export const CONFIG_TEMPLATE = `# course-etl configuration (written by \`course-etl init\`). README → Configuration has every field.
# Values like \${VAR} come from the environment (or .env with docker compose): keep secrets out of this file.
# \${VAR:-default} uses the default when VAR is unset or empty; an unset VAR without one is an error.

# Warehouse: a postgres:// URL. Leave it out for the embedded Postgres stored in dataDir/warehouse.
# database: \${DATABASE_URL}

# Embedded database and export archive. A relative path is relative to this file's folder.
dataDir: ./.data
# Keep a gzip copy of every downloaded GetCourse export (replayable with \`course-etl load-file\`).
archiveExports: true
# Zone of the scheduler and of --excel dumps of tables without an account zone.
timezone: Europe/Moscow
# Rows per load transaction; accounts / cabinets synced at once.
batchSize: 5000
concurrency: 32
# Scheduler job files (cron + what to sync), one YAML file a job.
jobsDir: ./jobs

getcourse:
  - name: acme                     # our name for the account; stored in every row as \`account\`
    account: acme                  # subdomain: https://acme.getcourse.ru/
    # domain: getcourse.io         # default getcourse.ru
    # baseUrl: https://school.example.com   # custom domain, when the account redirects to it
    key: \${GETCOURSE_ACME_KEY}     # Settings → API key of the account
    timezone: Europe/Moscow        # the zone the account's dates are written in
    # budget: { requests: 100, windowSeconds: 7200, reserve: 10 }   # GetCourse allows 100 requests / 2 h

kwiga:
  - name: main                     # stored in every row as \`cabinet\`
    token: \${KWIGA_TOKEN}
    cabinetHash: \${KWIGA_CABINET_HASH}
    # rateLimit: { requests: 200, windowSeconds: 60 }
`

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('write a commented config template (default ./etl.config.yaml; never overwrites without --force)')
    .option('--out <file>', 'where to write it', DEFAULT_CONFIG_PATH)
    .option('--force', 'overwrite an existing file')
    .action((o: { out: string; force?: boolean }) => {
      const file = path.resolve(o.out)
      if (existsSync(file) && !o.force) throw new EtlError('USAGE', `${file} already exists; use --force to overwrite it`)
      if (!existsSync(path.dirname(file))) throw new EtlError('USAGE', `folder ${path.dirname(file)} does not exist`)
      writeFileSync(file, CONFIG_TEMPLATE)
      process.stdout.write(
        `wrote ${path.relative(process.cwd(), file) || file}: set GETCOURSE_ACME_KEY, KWIGA_TOKEN and KWIGA_CABINET_HASH (or edit the accounts), then run \`course-etl check\`\n`,
      )
    })
}
