import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import type { Plugin } from 'vite'

const COMPRESSIBLE = /\.(js|css|html|svg|json)$/
/** Smaller files gain nothing worth a second file. */
const MIN_BYTES = 1024

/**
 * Writes `.br` and `.gz` next to every compressible file of the build, so the API process (@fastify/static
 * `preCompressed`) sends them without compressing on each request.
 */
export function precompress(): Plugin {
  let outDir = 'dist'
  return {
    name: 'hotspot-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir)
    },
    closeBundle() {
      const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
          const file = path.join(dir, entry.name)
          if (entry.isDirectory()) walk(file)
          else if (COMPRESSIBLE.test(entry.name)) {
            const content = fs.readFileSync(file)
            if (content.length < MIN_BYTES) continue
            fs.writeFileSync(`${file}.gz`, zlib.gzipSync(content, { level: 9 }))
            fs.writeFileSync(
              `${file}.br`,
              zlib.brotliCompressSync(content, {
                params: {
                  [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
                  [zlib.constants.BROTLI_PARAM_SIZE_HINT]: content.length,
                },
              }),
            )
          }
        }
      }
      walk(outDir)
    },
  }
}
