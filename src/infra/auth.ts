import { createHash, timingSafeEqual } from 'node:crypto'
import { AppError } from '../errors.ts'

const digest = (value: string) => createHash('sha256').update(value).digest()

/** Checks `Authorization: Bearer <token>` in constant time (hashing first makes the lengths equal). */
export function makeAdminCheck(adminToken: string) {
  const expected = digest(adminToken)
  const isAdmin = (authorization: string | undefined): boolean => {
    const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '')
    return match?.[1] !== undefined && timingSafeEqual(digest(match[1].trim()), expected)
  }
  const requireAdmin = async (request: { headers: { authorization?: string } }) => {
    if (!isAdmin(request.headers.authorization)) {
      throw new AppError('unauthorized', 'this route needs Authorization: Bearer <HOTSPOT_ADMIN_TOKEN>')
    }
  }
  return { isAdmin, requireAdmin }
}

export type AdminCheck = ReturnType<typeof makeAdminCheck>
