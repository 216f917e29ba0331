import { onBeforeUnmount, onMounted, ref } from 'vue'

/** The current time in ms, ticking once a second while the component lives (countdowns). */
export function useNow() {
  const now = ref(Date.now())
  let timer: ReturnType<typeof setInterval> | undefined
  onMounted(() => {
    timer = setInterval(() => {
      now.value = Date.now()
    }, 1000)
  })
  onBeforeUnmount(() => timer && clearInterval(timer))
  return now
}
