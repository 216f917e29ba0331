import { onBeforeUnmount, onMounted, reactive, ref } from 'vue'

export interface Counts {
  views: number
  uniqueVisitors?: number
}

export type StreamState = 'off' | 'connecting' | 'live' | 'polling'

/** Newest counts heard on the event stream, by item id. Shared by every page. */
export const liveCounts = reactive(new Map<number, Counts>())
/** 'live' while the server-sent event stream is open; 'polling' while it is down and pages poll instead. */
export const streamState = ref<StreamState>('off')

const eventListeners = new Set<(ids: number[]) => void>()
let source: EventSource | undefined
let reopen: ReturnType<typeof setTimeout> | undefined
let users = 0

function merge(id: number, counts: Counts) {
  const known = liveCounts.get(id)
  // Several API processes publish; an older count arriving late must not move a number backwards.
  if (!known || counts.views >= known.views) liveCounts.set(id, counts)
}

function onViews(event: MessageEvent<string>) {
  let items: { id: number; views: number; uniqueVisitors: number }[]
  try {
    items = (JSON.parse(event.data) as { items: typeof items }).items ?? []
  } catch {
    return
  }
  for (const item of items) merge(item.id, { views: item.views, uniqueVisitors: item.uniqueVisitors })
  const ids = items.map((i) => i.id)
  for (const listener of eventListeners) listener(ids)
}

function open() {
  reopen = undefined
  if (typeof EventSource === 'undefined') {
    streamState.value = 'polling'
    return
  }
  streamState.value = 'connecting'
  const stream = new EventSource('/api/events')
  source = stream
  stream.onopen = () => {
    streamState.value = 'live'
  }
  stream.addEventListener('views', onViews as EventListener)
  stream.onerror = () => {
    // Dropped: poll until it is back. EventSource reconnects by itself unless it gave up (CLOSED).
    streamState.value = 'polling'
    if (stream.readyState === EventSource.CLOSED && source === stream) {
      source = undefined
      reopen = setTimeout(open, 5000)
    }
  }
}

function close() {
  source?.close()
  source = undefined
  if (reopen) clearTimeout(reopen)
  reopen = undefined
  streamState.value = 'off'
}

/** The count to show: the larger of what the page loaded and what the stream said since. */
export function countsOf(id: number, loaded: Counts): Counts {
  const live = liveCounts.get(id)
  if (!live || live.views < loaded.views) return loaded
  return { views: live.views, uniqueVisitors: live.uniqueVisitors ?? loaded.uniqueVisitors }
}

/**
 * Keeps a page's counts current: the shared event stream while it is up (`onEvent` hears the ids that
 * changed), and `poll` every `pollMs` while it is down.
 */
export function useLiveCounts(options: {
  poll: () => unknown
  onEvent?: (ids: number[]) => void
  pollMs?: number
}) {
  const pollMs = options.pollMs ?? 3000
  let timer: ReturnType<typeof setInterval> | undefined
  onMounted(() => {
    if (users++ === 0) open()
    if (options.onEvent) eventListeners.add(options.onEvent)
    timer = setInterval(() => {
      if (streamState.value !== 'live' && !document.hidden) options.poll()
    }, pollMs)
  })
  onBeforeUnmount(() => {
    if (options.onEvent) eventListeners.delete(options.onEvent)
    if (timer) clearInterval(timer)
    if (--users === 0) close()
  })
}

/** Counts learnt from an API answer (e.g. the view just recorded) count as live too. */
export function noteCounts(id: number, counts: Counts) {
  merge(id, counts)
}
