import { computed, onBeforeUnmount, ref } from 'vue'

/** A seconds countdown (a 429's Retry-After, a code's expiry) that ticks once a second and stops at 0. */
export function useCountdown() {
  const until = ref(0)
  const now = ref(Date.now())
  let timer: ReturnType<typeof setInterval> | undefined

  const left = computed(() => Math.max(0, Math.ceil((until.value - now.value) / 1000)))

  function start(seconds: number) {
    until.value = Date.now() + seconds * 1000
    now.value = Date.now()
    if (!timer) {
      timer = setInterval(() => {
        now.value = Date.now()
        if (now.value >= until.value && timer) {
          clearInterval(timer)
          timer = undefined
        }
      }, 250)
    }
  }

  function stop() {
    until.value = 0
  }

  onBeforeUnmount(() => timer && clearInterval(timer))
  return { left, start, stop }
}

/** `mm:ss`, or `h:mm:ss` past an hour, or `Nd hh:mm:ss` past a day. */
export function clock(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds))
  const days = Math.floor(s / 86_400)
  const h = Math.floor((s % 86_400) / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = s % 60
  const two = (n: number) => String(n).padStart(2, '0')
  const hms = h > 0 || days > 0 ? `${days > 0 ? two(h) : h}:${two(m)}:${two(sec)}` : `${m}:${two(sec)}`
  return days > 0 ? `${days}d ${hms}` : hms
}
