/** A process of the admin-token race test: waits for the shared start instant, then resolves the token. */
import { resolveAdminToken } from '../../src/infra/admin-token.ts'

const [dir = '', startAt = '0'] = process.argv.slice(2)
// Busy-wait, not a timer: every process must reach the file at the same instant for the race to be real.
while (Date.now() < Number(startAt)) {}
process.stdout.write(resolveAdminToken(undefined, dir).token)
