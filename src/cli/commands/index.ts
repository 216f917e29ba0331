/**
 * Every `hotspot` command. A command lives in its own file exporting `register(program)`, which declares its
 * arguments, options and help and imports its implementation only when it runs (help stays fast); add it here.
 */
import type { Command } from 'commander'
import * as celeryControl from './celery-control.ts'
import * as doctor from './doctor.ts'
import * as migrate from './migrate.ts'
import * as seckill from './seckill.ts'
import * as serve from './serve.ts'
import * as tasks from './tasks.ts'

export const COMMANDS: { register(program: Command): void }[] = [
  serve,
  migrate,
  doctor,
  tasks,
  seckill,
  celeryControl,
]
