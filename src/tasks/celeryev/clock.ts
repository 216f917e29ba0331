/**
 * kombu's LamportClock (kombu/clocks.py): `forward` on every message sent, `adjust` to the highest value seen on
 * every message received. One per worker, shared by its event dispatcher and its control mailbox as Celery
 * shares `app.clock`, so an event sent after a control command carries a clock above the command's.
 */
export class LamportClock {
  value = 0
  adjust(other: unknown) {
    const n =
      typeof other === 'number' ? other : typeof other === 'bigint' ? Number(other) : Number(other) || 0
    this.value = Math.max(this.value, Number.isFinite(n) ? n : 0) + 1
    return this.value
  }
  forward() {
    return ++this.value
  }
}
