// kafka-dr dashboard: polls /api/dashboard every 2 s, keeps 10 minutes of history in the page and
// draws it with uPlot (served by kafka-dr itself: no CDN, works offline). A bearer token, when the
// server needs one, is given once in the URL fragment (#token=...), kept for the tab, and never sent
// anywhere but this server.
;(() => {
  'use strict'
  const POLL_MS = 2000
  const HISTORY_MS = 10 * 60 * 1000
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token')
  if (fromHash) {
    sessionStorage.setItem('kafka-dr-token', fromHash)
    history.replaceState(null, '', location.pathname)
  }
  const token = sessionStorage.getItem('kafka-dr-token')
  const headers = token ? { authorization: `Bearer ${token}` } : {}
  /** Per link: samples { t, records, bytes, lag, lagSeconds } and its DOM and charts. */
  const views = new Map()
  /** Per link: the failover state stored on the target (from /api/status, read less often: it asks the clusters). */
  const failovers = new Map()

  const $ = (root, selector) => root.querySelector(selector)
  const fmt = n => (n === null || n === undefined || Number.isNaN(n) ? '–' : Number(n).toLocaleString('en'))
  const ago = at => (at === null ? '–' : `${Math.max(0, Math.round((Date.now() - at) / 1000))} s ago`)

  function cell(row, text, className) {
    const td = document.createElement('td')
    td.textContent = text
    if (className) td.className = className
    row.appendChild(td)
  }

  function chart(element, series) {
    const opts = {
      width: Math.min(560, Math.max(320, element.parentElement.clientWidth || 480)),
      height: 180,
      series: [{}, ...series],
      axes: [
        {},
        { scale: series[0].scale },
        ...(series[1] ? [{ scale: series[1].scale, side: 1, grid: { show: false } }] : [])
      ],
      scales: { x: { time: true } },
      legend: { show: true }
    }
    return new uPlot(opts, [[], ...series.map(() => [])], element)
  }

  function viewFor(link) {
    let view = views.get(link.link)
    if (view) return view
    const node = document.getElementById('link-template').content.firstElementChild.cloneNode(true)
    node.dataset.link = link.link
    document.getElementById('links').appendChild(node)
    view = {
      node,
      samples: [],
      throughput: chart($(node, '.throughput'), [{ label: 'records/s', stroke: '#2e6bd6', scale: 'r' }]),
      lag: chart($(node, '.lag-chart'), [
        { label: 'lag records', stroke: '#b42318', scale: 'n' },
        { label: 'lag seconds', stroke: '#f79009', scale: 's' }
      ])
    }
    views.set(link.link, view)
    return view
  }

  function render(link, now) {
    const view = viewFor(link)
    const { node, samples } = view
    $(node, '.name').textContent = link.link
    $(node, '.route').textContent = `${link.source} → ${link.target}`
    const state = $(node, '.state')
    state.textContent = link.state
    state.className = `state badge ${link.state}`
    const stored = failovers.get(link.link)
    $(node, '.failover').textContent = link.error
      ? `error: ${link.error}`
      : link.failover
        ? `failover: ${link.failover}`
        : stored
          ? `failover: ${stored}`
          : 'no failover recorded for this link'
    // Scale-out: this worker's share of the link (the other workers' dashboards show theirs).
    const w = link.worker
    $(node, '.workers').textContent =
      w && w.generation >= 0
        ? `worker ${w.id}${w.leader ? ' (leader)' : ''}: ${w.owned} partitions of group ${w.group}, generation ${w.generation}, ${w.members.length} worker${w.members.length === 1 ? '' : 's'}: ${w.members.join(', ')}`
        : w
          ? `worker ${w.id}: joining group ${w.group}`
          : ''

    samples.push({
      t: now,
      records: link.records,
      bytes: link.bytes,
      lag: link.lagRecords,
      lagSeconds: link.lagSeconds
    })
    while (samples.length > 0 && now - samples[0].t > HISTORY_MS) samples.shift()
    const rates = samples.map((s, i) => {
      if (i === 0) return null
      const dt = (s.t - samples[i - 1].t) / 1000
      return dt > 0 ? Math.max(0, (s.records - samples[i - 1].records) / dt) : null
    })
    const last = samples.length
    const bytesRate =
      last > 1
        ? Math.max(
            0,
            (samples[last - 1].bytes - samples[last - 2].bytes) / ((samples[last - 1].t - samples[last - 2].t) / 1000)
          )
        : null
    $(node, '.rate').textContent = fmt(rates[last - 1] === null ? null : Math.round(rates[last - 1]))
    $(node, '.mbps').textContent = bytesRate === null ? '–' : (bytesRate / 1e6).toFixed(2)
    $(node, '.lag').textContent = fmt(link.lagRecords)
    $(node, '.lag-seconds').textContent = link.lagSeconds === null ? '–' : link.lagSeconds.toFixed(1)
    // Paused partitions are an operator's choice (kafka-dr pause): counted apart from stopped ones.
    const paused = link.partitions.filter(p => p.state === 'paused').length
    const stopped = link.partitions.filter(p => p.state !== 'running' && p.state !== 'paused').length
    $(node, '.stopped').textContent = String(stopped)
    $(node, '.paused').textContent = String(paused)
    const times = samples.map(s => s.t / 1000)
    view.throughput.setData([times, rates])
    // How many polls the chart holds: lets a test (or an operator's script) see the page take new samples.
    $(node, '.throughput').dataset.points = String(samples.length)
    view.lag.setData([times, samples.map(s => s.lag), samples.map(s => s.lagSeconds)])

    const tbody = $(node, '.partitions tbody')
    tbody.replaceChildren()
    // Stopped partitions first: they are what an operator must see.
    const partitions = [...link.partitions].sort((a, b) => (a.state === 'running') - (b.state === 'running'))
    for (const p of partitions) {
      const row = document.createElement('tr')
      row.className = p.state
      row.dataset.partition = `${p.topic}/${p.partition}`
      cell(row, p.topic)
      cell(row, String(p.partition))
      cell(row, p.state)
      cell(row, fmt(p.lagRecords))
      cell(row, fmt(p.lagBytes))
      cell(row, p.lagSeconds === null ? '–' : p.lagSeconds.toFixed(1))
      cell(row, fmt(p.replicatedRecords))
      cell(row, p.reason ?? '', 'reason')
      tbody.appendChild(row)
    }
    const groups = $(node, '.groups tbody')
    groups.replaceChildren()
    for (const g of link.groups) {
      const row = document.createElement('tr')
      cell(row, g.group)
      cell(row, String(g.partitions))
      cell(row, g.exact ? 'exact' : 'not exact (nearest earlier checkpoint)')
      cell(row, ago(g.lastCheckpointAt))
      groups.appendChild(row)
    }
    if (link.groups.length === 0) {
      const row = document.createElement('tr')
      cell(row, 'no groups translated yet')
      groups.appendChild(row)
    }
    const s = link.schemas
    $(node, '.schemas').textContent = s
      ? `${s.mode}: ${s.totals.subjects} subjects, ${s.totals.versions} versions: ${s.totals.inSync} in sync, ${s.totals.pending} pending, ${s.totals.failed} failed subjects${s.failed.length ? ` (${s.failed.map(f => `${f.subject}: ${f.reason}`).join('; ')})` : ''}, ${s.totals.softDeleted} soft-deleted on the source`
      : 'not replicated on this link'
    renderVerification(node, link.verification)
  }

  /** Continuous verification (verify: in the link's config): totals since the start, the last pass's findings. */
  function renderVerification(node, v) {
    const body = $(node, '.verification tbody')
    body.replaceChildren()
    const note = $(node, '.verification-note')
    if (!v) {
      note.textContent = 'not configured on this link (verify: { intervalMs, recordsPerPartition })'
      return
    }
    const row = document.createElement('tr')
    const last = v.lastPass
    row.className = last && last.missing + last.altered > 0 ? 'mismatch' : last && last.errors > 0 ? 'unchecked' : ''
    cell(row, ago(v.lastPassAt), 'last-check')
    cell(row, ago(v.lastSuccessAt), 'last-success')
    cell(row, fmt(v.totals.windows), 'windows')
    cell(row, fmt(v.totals.matched), 'matched')
    cell(row, fmt(v.totals.missing), 'missing')
    cell(row, fmt(v.totals.altered), 'altered')
    cell(row, fmt(v.totals.errors), 'errors')
    body.appendChild(row)
    const problems = v.problems.map(
      p =>
        `${p.topic}/${p.partition} offsets ${p.from}..${p.to - 1}: ${p.error ?? `${p.missing} missing, ${p.altered} altered`}`
    )
    note.textContent = [
      `every ${v.intervalMs / 1000} s, the newest ${fmt(v.recordsPerPartition)} replicated records of each partition this worker copies`,
      last ? `last pass: ${last.windows} windows, ${last.missing} missing, ${last.altered} altered` : 'no pass yet',
      v.lastError ? `error: ${v.lastError}` : '',
      problems.length ? `problems: ${problems.join('; ')}` : ''
    ]
      .filter(Boolean)
      .join(' · ')
  }

  async function poll() {
    const problem = document.getElementById('problem')
    try {
      const response = await fetch('api/dashboard', { headers, cache: 'no-store' })
      if (response.status === 401) throw new Error('this server needs a token: open the page as …/#token=<token>')
      if (!response.ok) throw new Error(`api/dashboard answered ${response.status}`)
      const data = await response.json()
      for (const link of data.links) render(link, data.at)
      document.getElementById('updated').textContent = `updated ${new Date(data.at).toLocaleTimeString()}`
      problem.hidden = true
    } catch (error) {
      problem.textContent = String(error.message || error)
      problem.hidden = false
    } finally {
      setTimeout(poll, POLL_MS)
    }
  }
  async function pollFailovers() {
    try {
      const response = await fetch('api/status', { headers, cache: 'no-store' })
      if (response.ok) for (const link of await response.json()) failovers.set(link.link, link.failover)
    } catch {
      // the live view goes on without it; the next round tries again
    } finally {
      setTimeout(pollFailovers, 15000)
    }
  }
  void poll()
  void pollFailovers()
})()
