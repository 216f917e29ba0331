import { fileURLToPath, URL } from 'node:url'
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'
import { precompress } from './compress-plugin.ts'

/** The API the dev server forwards to (`npm start` listens on 3000 by default). */
const api = process.env.HOTSPOT_API ?? 'http://127.0.0.1:3000'

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [vue(), precompress()],
  resolve: {
    alias: {
      // The UI previews segments with the very code the server counts them with.
      '@shared/segment': fileURLToPath(new URL('../src/sms/segment.ts', import.meta.url)),
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: false,
  },
  server: {
    fs: { allow: ['..'] },
    proxy: Object.fromEntries(
      ['/api', '/docs', '/metrics', '/openapi.json', '/healthz', '/readyz'].map((p) => [p, api]),
    ),
  },
})
