/**
 * DNS rebinding defence for a server without a token: a web page on evil.example can have its name
 * re-resolved to 127.0.0.1 and then read http://evil.example:9644/api/status from the victim's
 * browser, same-origin. The browser still sends `Host: evil.example:9644`, so a server that answers
 * only to names that really mean "this machine" is out of reach. Accepted: `localhost` and
 * `*.localhost` (which browsers resolve to loopback themselves), 127.0.0.0/8, `[::1]`, and the host
 * the server listens on. A request without a Host header (HTTP/1.0 tools) comes from no browser and
 * is accepted.
 */
export function allowedHost(header: string | undefined, listenHost: string): boolean {
  if (header === undefined) return true
  const host = hostOf(header)
  if (host === null) return false
  const listen = listenHost.toLowerCase().replace(/^\[(.*)\]$/, '$1')
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === '::1' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) ||
    (host === listen && listen !== '0.0.0.0' && listen !== '::')
  )
}

/** The host name of a Host header, lower case, without port or IPv6 brackets; null when malformed. */
function hostOf(header: string): string | null {
  const value = header.trim().toLowerCase()
  const bracketed = /^\[([0-9a-f:.]+)\](?::\d+)?$/.exec(value)
  if (bracketed !== null) return bracketed[1]!
  const plain = /^([a-z0-9.-]+)(?::\d+)?$/.exec(value)
  if (plain === null) return null
  // A trailing dot names the same host (localhost. is localhost).
  return plain[1]!.replace(/\.$/, '')
}
