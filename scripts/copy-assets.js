// After `tsc`, copy what the compiled code reads from disk next to it (Lua scripts; later .proto files).
import fs from 'node:fs'
import path from 'node:path'

const copied = []
function copy(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const from = path.join(dir, entry.name)
    if (entry.isDirectory()) copy(from)
    else if (entry.name.endsWith('.lua')) {
      const to = path.join('dist', path.relative('src', from))
      fs.mkdirSync(path.dirname(to), { recursive: true })
      fs.copyFileSync(from, to)
      copied.push(to)
    }
  }
}
copy('src')
process.stdout.write(`copied ${copied.length} Lua scripts into dist/\n`)
