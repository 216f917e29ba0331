/**
 * A private PostgreSQL cluster for the tests: initdb + pg_ctl on a free port, run as `postgres` when we are root.
 * Test-only (hotspot itself never starts PostgreSQL: DATABASE_URL names one, or SQLite is used).
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { freePort, type RunningServer } from '../../src/infra/local-servers.ts'

export interface PostgresOptions {
  dir: string
  /** Default: a free one. A restart on the same data dir passes the port it had. */
  port?: number
}

const isRoot = () => process.getuid?.() === 0

/** Debian's initdb is not on PATH: it lives under /usr/lib/postgresql/<version>/bin. */
function findInitdb(): string {
  const onPath = (process.env.PATH ?? '')
    .split(':')
    .map((dir) => path.join(dir, 'initdb'))
    .find((file) => fs.existsSync(file))
  if (onPath) return onPath
  const versions = fs.existsSync('/usr/lib/postgresql') ? fs.readdirSync('/usr/lib/postgresql') : []
  const debian = versions
    .map((v) => `/usr/lib/postgresql/${v}/bin/initdb`)
    .find((file) => fs.existsSync(file))
  if (debian) return debian
  throw new Error('postgresql is not installed: apt-get install postgresql (the PostgreSQL tests need it)')
}

export async function startPostgres(options: PostgresOptions): Promise<RunningServer> {
  const bin = path.dirname(fs.realpathSync(findInitdb()))
  const asOwner = (cmd: string, args: string[]) =>
    isRoot()
      ? execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe' })
      : execFileSync(cmd, args, { stdio: 'pipe' })
  fs.mkdirSync(options.dir, { recursive: true })
  if (isRoot()) execFileSync('chown', ['-R', 'postgres:postgres', options.dir])
  const data = path.join(options.dir, 'data')
  if (!fs.existsSync(path.join(data, 'PG_VERSION'))) {
    asOwner(path.join(bin, 'initdb'), [
      '-D',
      data,
      '-U',
      'hotspot',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-sync',
    ])
  }
  const port = options.port ?? (await freePort())
  const opts = `-p ${port} -k ${options.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`
  asOwner(path.join(bin, 'pg_ctl'), [
    '-D',
    data,
    '-o',
    opts,
    '-l',
    path.join(options.dir, 'pg.log'),
    '-w',
    'start',
  ])
  const pid = Number(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0])
  return {
    url: `postgres://hotspot@127.0.0.1:${port}/postgres`,
    pid,
    stop: async () => {
      asOwner(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop'])
    },
  }
}
