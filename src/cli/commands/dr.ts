import { loadConfig } from '../../config/index.ts'
import { describeAcl } from '../../core/acl-transform.ts'
import { describePause } from '../../core/pauses.ts'
import { failback } from '../../failover/failback.ts'
import { failover } from '../../failover/failover.ts'
import { type WriteGrantsReport } from '../../failover/grant-writes.ts'
import { type LinkRpo, status } from '../../failover/status.ts'

/** `kafka-dr status`, `failover` and `failback`: read what the engine stored; work with the engine down. */

const json = (value: unknown): string =>
  JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  return [header, ...rows].map(line => line.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n')
}

const show = (v: bigint | number | null | undefined, suffix = ''): string =>
  v === null || v === undefined ? 'unknown' : `${v}${suffix}`

export async function statusCommand(options: { config: string; link?: string; json?: boolean }): Promise<number> {
  const links = await status(loadConfig(options.config), options.link)
  if (options.json === true) {
    console.log(json(links))
    return 0
  }
  for (const l of links) {
    console.log(
      `link ${l.link} (${l.source} -> ${l.target}): replicator ${l.replicator}${l.failover === null ? '' : `; ${l.failover}`}`
    )
    if (!l.sourceReachable) console.log(`  source unreachable: ${l.sourceError}`)
    if (l.stateNote !== null) console.log(`  warning: ${l.stateNote}`)
    for (const p of l.pauses)
      console.log(`  ${p.scope === '*' ? 'link' : `topic ${p.scope}`}: ${describePause(p, p.scope)}`)
    console.log(
      table(
        ['topic', 'partition', 'replicated to', 'source end', 'not replicated', 'bytes', 'seconds', 'state', 'worker'],
        l.partitions.map(p => [
          p.topic,
          String(p.partition),
          String(p.replicatedNext),
          show(p.sourceEnd),
          show(p.records),
          p.bytes === null ? 'unknown' : `${p.bytesEstimated ? '~' : ''}${p.bytes}`,
          p.seconds === null ? 'unknown' : p.seconds.toFixed(1),
          p.reason === null ? p.state : `${p.state}: ${p.reason}`,
          p.worker ?? '-'
        ])
      )
    )
    if (l.workers.length > 0) {
      console.log(
        table(
          ['slot', 'worker', 'state', 'partitions', 'MB/s', 'generation', 'last heartbeat'],
          l.workers.map(w => [
            String(w.slot),
            `${w.worker} (${w.host} pid ${w.pid})`,
            w.state,
            show(w.partitions),
            w.bytesPerSecond === null ? 'unknown' : (w.bytesPerSecond / 1e6).toFixed(2),
            String(w.generation),
            new Date(w.at).toISOString()
          ])
        )
      )
    }
    if (l.groups.length > 0) {
      console.log(
        table(
          ['group', 'partitions', 're-read if source lost now', 'read but not replicated', 'last checkpoint'],
          l.groups.map(g => [
            g.group,
            String(g.partitions),
            show(g.rereadIfSourceLost),
            show(g.notReplicated),
            g.lastCheckpointAt === null ? '-' : new Date(g.lastCheckpointAt).toISOString()
          ])
        )
      )
    }
    if (l.schemas !== null) printSchemas(l.schemas)
  }
  return 0
}

function printSchemas(schemas: NonNullable<LinkRpo['schemas']>): void {
  const { registries, replicator } = schemas
  const failed = new Map<string, string>()
  if (Array.isArray(replicator?.subjects)) {
    for (const s of replicator.subjects as { subject: string; failed: string | null }[]) {
      if (s.failed !== null) failed.set(s.subject, s.failed)
    }
  }
  if (!registries.compared) {
    console.log(`schemas (${schemas.mode}): registries not compared: ${registries.error}`)
  } else {
    const t = registries.totals
    console.log(
      `schemas (${schemas.mode}): ${t.subjects} subjects, ${t.versions} versions: ${t.inSync} in sync, ${t.pending} pending, ${failed.size} failed, ${t.softDeleted} soft-deleted on the source (not copied)`
    )
    const rows = registries.subjects.filter(s => s.pending > 0 || s.softDeleted.length > 0 || failed.has(s.subject))
    if (rows.length > 0) {
      console.log(
        table(
          ['subject', 'versions', 'in sync', 'pending', 'soft-deleted', 'state'],
          rows.map(s => [
            s.subject,
            String(s.versions),
            String(s.inSync),
            String(s.pending),
            s.softDeleted.join(',') || '-',
            failed.get(s.subject) === undefined
              ? s.pending > 0
                ? 'pending'
                : 'in sync'
              : `failed: ${failed.get(s.subject)}`
          ])
        )
      )
    }
  }
  if (replicator !== null && typeof replicator.lastError === 'string') {
    console.log(`  last schema pass of the replicator failed: ${replicator.lastError}`)
  }
}

export async function failoverCommand(options: {
  config: string
  link: string
  groups?: string
  dryRun?: boolean
  grantWrites?: boolean
  json?: boolean
  auditFile?: string
}): Promise<number> {
  const report = await failover(loadConfig(options.config), {
    link: options.link,
    dryRun: options.dryRun === true,
    grantWrites: options.grantWrites === true,
    ...(options.groups === undefined ? {} : { groups: options.groups.split(',').filter(g => g !== '') }),
    ...(options.auditFile === undefined ? {} : { auditFile: options.auditFile }),
    progress: line => console.error(`failover: ${line}`)
  })
  if (options.json === true) {
    console.log(json(report))
    return 0
  }
  const head = report.dryRun
    ? 'DRY RUN (nothing changed)'
    : report.alreadyCompleted
      ? 'already completed'
      : report.resumed
        ? 'resumed and completed'
        : 'completed'
  console.log(`failover ${report.id} of link ${report.link}: ${head}`)
  console.log(
    `RPO: ${report.rpoRecords === null ? `unknown (source unreachable: ${report.sourceError})` : `${report.rpoRecords} records not replicated`}`
  )
  console.log(
    table(
      ['topic', 'partition', 'replicated to', 'source end', 'not replicated', 'target partition'],
      report.partitions.map(p => [
        p.topic,
        String(p.partition),
        String(p.replicatedNext),
        show(p.sourceEnd),
        show(p.notReplicated),
        p.targetPartitionExists ? 'ok' : 'MISSING'
      ])
    )
  )
  for (const g of report.groups) {
    console.log(
      `group ${g.group} (${g.basis}): ${g.committed ? 'committed on the target' : (g.reason ?? 'not committed')}`
    )
    for (const r of g.rows) {
      console.log(
        `  ${r.topic}/${r.partition}: source ${r.sourceOffset} -> target ${show(r.targetOffset)}${r.exact ? ' (exact)' : ` (not exact: ${r.note ?? ''})`}`
      )
    }
  }
  if (report.writeGrants !== null) printWriteGrants(report.writeGrants, report.dryRun)
  return 0
}

/** The held-back write ACLs of --grant-writes: one line each, what was (or would be) done. */
function printWriteGrants(report: WriteGrantsReport, dryRun: boolean): void {
  const from =
    report.basis === 'source'
      ? "the source's ACLs"
      : `ACL sync's records in the target's state (source ACLs not read: ${report.sourceError ?? 'unknown'})`
  console.log(`write ACLs held back by ACL sync (from ${from}): ${report.grants.length}`)
  for (const g of report.grants) {
    const what = g.present ? 'already on the target' : g.granted ? 'granted' : dryRun ? 'would grant' : 'not granted'
    console.log(`  ${what}: ${describeAcl(g.binding)}`)
  }
}

export async function failbackCommand(options: {
  config: string
  link: string
  tail?: string
  exportFile?: string
  dryRun?: boolean
  json?: boolean
  auditFile?: string
}): Promise<number> {
  const tail = options.tail ?? 'export'
  if (tail !== 'export' && tail !== 'discard' && tail !== 'reappend') {
    console.error(`kafka-dr: --tail must be export, discard or reappend (got "${tail}")`)
    return 2
  }
  const report = await failback(loadConfig(options.config), {
    link: options.link,
    dryRun: options.dryRun === true,
    tail,
    ...(options.exportFile === undefined ? {} : { exportFile: options.exportFile }),
    ...(options.auditFile === undefined ? {} : { auditFile: options.auditFile }),
    progress: line => console.error(`failback: ${line}`)
  })
  if (options.json === true) {
    console.log(json(report))
    return 0
  }
  console.log(
    `failback of link ${report.link} (failover ${report.failoverId}): ${report.dryRun ? 'DRY RUN (nothing changed)' : 'completed'}`
  )
  console.log(
    `divergent tail (policy ${report.tailPolicy}${report.exportFile === null ? '' : `, exported to ${report.exportFile}`}):`
  )
  console.log(
    table(
      ['topic', 'partition', 'offsets', 'records', 'first', 'last'],
      report.tail.map(t => [
        t.topic,
        String(t.partition),
        `${t.from}..${t.to}`,
        String(t.records),
        t.firstTimestamp === null ? '-' : new Date(t.firstTimestamp).toISOString(),
        t.lastTimestamp === null ? '-' : new Date(t.lastTimestamp).toISOString()
      ])
    )
  )
  for (const r of report.reversed)
    console.log(`copied back ${r.topic}/${r.partition}: ${r.copied} records written on the target since the failover`)
  for (const g of report.groups)
    console.log(`group ${g.group}: ${g.committed ? 'committed on the source' : (g.reason ?? 'not committed')}`)
  return 0
}
