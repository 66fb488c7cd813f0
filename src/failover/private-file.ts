import { closeSync, fchmodSync, fstatSync, openSync } from 'node:fs'

/**
 * Files that hold record contents or who-did-what (failback's divergent export, the audit log) are
 * readable by their owner only: created with mode 0600, and an existing file with wider permissions is
 * narrowed to 0600 before anything is appended. Returns a warning when it cannot be narrowed (a file
 * owned by another user), null otherwise.
 */
export const PRIVATE_FILE_MODE = 0o600

export function ensurePrivateFile(path: string): string | null {
  const fd = openSync(path, 'a', PRIVATE_FILE_MODE)
  try {
    const mode = fstatSync(fd).mode & 0o777
    if ((mode & ~PRIVATE_FILE_MODE) === 0) return null
    try {
      fchmodSync(fd, PRIVATE_FILE_MODE)
      return null
    } catch (error) {
      return `${path} has mode ${mode.toString(8)} and could not be changed to 600 (${(error as Error).message}): others may read what is appended to it`
    }
  } finally {
    closeSync(fd)
  }
}
