/** The one Redis key of a limited subject: its whole log sits under one hash tag (one Cluster slot). */
export function limiterKey(prefix: string, subject: string): string {
  return `${prefix}:{${subject}}`
}
