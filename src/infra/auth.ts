import { createHash, timingSafeEqual } from 'node:crypto'
import { AppError } from '../errors.ts'

const digest = (value: string) => createHash('sha256').update(value).digest()

/** Whether `Authorization: Bearer <token>` names this token, in constant time (hashing makes lengths equal). */
export function makeBearerCheck(token: string): (authorization: string | undefined) => boolean {
  const expected = digest(token)
  return (authorization) => {
    const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '')
    return match?.[1] !== undefined && timingSafeEqual(digest(match[1].trim()), expected)
  }
}

export function makeAdminCheck(adminToken: string) {
  const isAdmin = makeBearerCheck(adminToken)
  const requireAdmin = async (request: { headers: { authorization?: string } }) => {
    if (!isAdmin(request.headers.authorization)) {
      throw new AppError('unauthorized', 'this route needs Authorization: Bearer <HOTSPOT_ADMIN_TOKEN>')
    }
  }
  return { isAdmin, requireAdmin }
}

export type AdminCheck = ReturnType<typeof makeAdminCheck>
