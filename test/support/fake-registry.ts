import { type IncomingMessage, type ServerResponse, createServer } from 'node:http'
import { type AddressInfo } from 'node:net'

/**
 * A small in-process stand-in for the parts of the Confluent Schema Registry API that schema
 * replication uses, including IMPORT mode with given ids, which Apicurio's Confluent API does not
 * implement (it ignores the id). For unit tests of the keep-ids path only: integration tests run
 * against real registries.
 */

interface Version {
  id: number
  version: number
  schema: string
  schemaType: string
  references: { name: string; subject: string; version: number }[]
  deleted: boolean
}

export interface FakeRegistry {
  url: string
  /** Every request as "METHOD path", in order. */
  requests: string[]
  subjects: Map<string, Version[]>
  close(): Promise<void>
}

export async function startFakeRegistry(
  options: { honourIds?: boolean; firstId?: number } = {}
): Promise<FakeRegistry> {
  const subjects = new Map<string, Version[]>()
  const contents = new Map<string, number>()
  const modes = new Map<string, string>()
  const configs = new Map<string, string>()
  const requests: string[] = []
  let nextId = options.firstId ?? 1

  const reply = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' })
    res.end(JSON.stringify(body))
  }
  const notFound = (res: ServerResponse, code: number, message: string): void =>
    reply(res, 404, { error_code: code, message })

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x')
    const path = url.pathname
    const deleted = url.searchParams.get('deleted') === 'true'
    requests.push(`${req.method} ${path}`)
    let body: Record<string, unknown> = {}
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    if (chunks.length > 0) body = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>
    const parts = path
      .split('/')
      .filter(p => p !== '')
      .map(decodeURIComponent)
    const [root, subject, sub, version] = parts
    const live = (s: string): Version[] => (subjects.get(s) ?? []).filter(v => deleted || !v.deleted)
    const view = (s: string, v: Version): Record<string, unknown> => ({
      subject: s,
      version: v.version,
      id: v.id,
      schema: v.schema,
      ...(v.schemaType === 'AVRO' ? {} : { schemaType: v.schemaType }),
      ...(v.references.length === 0 ? {} : { references: v.references })
    })
    const sameContent = (v: Version): boolean =>
      v.schema === body.schema &&
      v.schemaType === ((body.schemaType as string | undefined) ?? 'AVRO') &&
      JSON.stringify(v.references) === JSON.stringify(body.references ?? [])

    if (root === 'subjects' && subject === undefined && req.method === 'GET') {
      return reply(
        res,
        200,
        [...subjects.keys()].filter(s => live(s).length > 0)
      )
    }
    if (root === 'subjects' && subject !== undefined) {
      if (sub === undefined && req.method === 'POST') {
        const found = live(subject).find(sameContent)
        return found === undefined ? notFound(res, 40403, 'Schema not found') : reply(res, 200, view(subject, found))
      }
      if (sub === undefined && req.method === 'DELETE') {
        const permanent = url.searchParams.get('permanent') === 'true'
        if (permanent) subjects.delete(subject)
        else for (const v of subjects.get(subject) ?? []) v.deleted = true
        return reply(res, 200, [])
      }
      if (sub === 'versions' && version === undefined && req.method === 'GET') {
        const versions = live(subject)
        return versions.length === 0
          ? notFound(res, 40401, `Subject '${subject}' not found.`)
          : reply(
              res,
              200,
              versions.map(v => v.version)
            )
      }
      if (sub === 'versions' && version !== undefined && req.method === 'GET') {
        const found = live(subject).find(v => v.version === Number(version))
        return found === undefined
          ? notFound(res, 40402, `Version ${version} not found.`)
          : reply(res, 200, view(subject, found))
      }
      if (sub === 'versions' && req.method === 'POST') {
        const list = subjects.get(subject) ?? []
        const existing = list.find(sameContent)
        if (existing !== undefined) return reply(res, 200, { id: existing.id })
        const importing = (modes.get(subject) ?? modes.get('') ?? 'READWRITE') === 'IMPORT'
        const key = JSON.stringify([body.schema, body.schemaType ?? 'AVRO', body.references ?? []])
        let id: number
        if (importing && options.honourIds !== false) {
          if (typeof body.id !== 'number')
            return reply(res, 422, { error_code: 42205, message: 'IMPORT mode needs an id' })
          id = body.id
        } else {
          id = contents.get(key) ?? nextId++
        }
        contents.set(key, id)
        const versionNumber =
          importing && typeof body.version === 'number' ? body.version : Math.max(0, ...list.map(v => v.version)) + 1
        list.push({
          id,
          version: versionNumber,
          schema: body.schema as string,
          schemaType: (body.schemaType as string | undefined) ?? 'AVRO',
          references: (body.references as Version['references'] | undefined) ?? [],
          deleted: false
        })
        subjects.set(subject, list)
        return reply(res, 200, { id })
      }
    }
    if (root === 'schemas' && subject === 'ids' && sub !== undefined && version === 'versions') {
      const id = Number(sub)
      const places: { subject: string; version: number }[] = []
      for (const [s, versions] of subjects) {
        for (const v of versions) if (v.id === id && !v.deleted) places.push({ subject: s, version: v.version })
      }
      return places.length === 0 ? notFound(res, 40403, `Schema ${id} not found`) : reply(res, 200, places)
    }
    if (root === 'config' || root === 'mode') {
      const store = root === 'config' ? configs : modes
      const name = subject ?? ''
      if (req.method === 'PUT') {
        store.set(name, (body.compatibility ?? body.mode) as string)
        return reply(res, 200, body)
      }
      const value = store.get(name) ?? (name === '' ? (root === 'config' ? 'BACKWARD' : 'READWRITE') : undefined)
      if (value === undefined) return notFound(res, root === 'config' ? 40408 : 40409, 'not configured')
      return reply(res, 200, root === 'config' ? { compatibilityLevel: value } : { mode: value })
    }
    return notFound(res, 404, `no route for ${req.method} ${path}`)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => reply(res, 500, { error_code: 500, message: String(error) }))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    subjects,
    close: () => new Promise(resolve => server.close(() => resolve()))
  }
}
