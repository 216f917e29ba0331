import { ref } from 'vue'

const KEY = 'hotspot.adminToken'

function read(): string {
  try {
    return sessionStorage.getItem(KEY) ?? ''
  } catch {
    return '' // storage disabled: ask again each time
  }
}

/** The admin token of this tab: sessionStorage only, so it goes away with the tab and never reaches disk. */
export const adminToken = ref(read())
/** Why the prompt is shown again ('refused' after a 401). */
export const tokenProblem = ref<'' | 'refused'>('')

export function rememberAdminToken(token: string) {
  adminToken.value = token
  tokenProblem.value = ''
  try {
    sessionStorage.setItem(KEY, token)
  } catch {}
}

export function forgetAdminToken(reason: '' | 'refused' = '') {
  adminToken.value = ''
  tokenProblem.value = reason
  try {
    sessionStorage.removeItem(KEY)
  } catch {}
}
