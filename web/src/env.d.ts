/// <reference types="vite/client" />

declare module '*.vue' {
  import type { DefineComponent } from 'vue'

  const component: DefineComponent<object, object, unknown>
  export default component
}

interface Window {
  /** GETs index.html starts before the app loads (see index.html); undefined when the fetch itself failed. */
  __hotspotPrefetch?: Record<string, Promise<Response | undefined>>
}
