import { type Ref, ref, shallowRef } from 'vue'
import { describeError } from '../api/messages.ts'

/**
 * Loading / error / data for one API read. `reload` keeps the last data on screen while it refreshes (a
 * background refresh that fails keeps showing the data and reports the error quietly).
 */
export function useResource<T>(load: () => Promise<T>) {
  const data = shallowRef<T>() as Ref<T | undefined>
  const error = ref('')
  const loading = ref(false)
  let generation = 0

  async function reload(): Promise<void> {
    const mine = ++generation
    loading.value = true
    try {
      const value = await load()
      if (mine !== generation) return // a newer reload won
      data.value = value
      error.value = ''
    } catch (e) {
      if (mine === generation) error.value = describeError(e)
    } finally {
      if (mine === generation) loading.value = false
    }
  }

  return { data, error, loading, reload }
}
