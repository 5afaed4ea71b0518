// SPDX-License-Identifier: MIT
// Sandbox lifecycle through the official SDK: create (metadata, envs,
// timeout), getInfo, list filters and pagination, setTimeout and expiry,
// pause/resume/connect, kill, API-key and access-token enforcement.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Sandbox, AuthenticationError, SandboxNotFoundError } from 'e2b'
import {
	TEMPLATE, REQUEST_TIMEOUT_MS, createSandbox, killSandbox, forget, envdVersion, versionAtLeast,
	envdFetch, envdRpc, apiFetch, uniq, waitFor, sleep, checkEnv,
} from './lib.mjs'

const T = { timeout: 90_000 }
const rto = { requestTimeoutMs: REQUEST_TIMEOUT_MS }

test('lifecycle: create with metadata, envs and timeout; getInfo reports them', T, async () => {
	const tag = uniq('meta')
	const sbx = await createSandbox({ metadata: { suite: tag, owner: 'conformance' }, envs: { CONF_FOO: 'bar baz' }, timeoutMs: 120_000 })
	assert.match(sbx.sandboxId, /^[A-Za-z0-9_-]+$/, 'sandbox id is URL/host safe')
	assert.ok(versionAtLeast(envdVersion(sbx), '0.1.0'), `envdVersion ${envdVersion(sbx)} >= 0.1.0`)
	const info = await sbx.getInfo(rto)
	assert.equal(info.sandboxId, sbx.sandboxId)
	assert.ok(info.templateId === TEMPLATE || info.name === TEMPLATE, `template ${info.templateId}/${info.name} is ${TEMPLATE}`)
	assert.deepEqual(info.metadata, { suite: tag, owner: 'conformance' })
	assert.equal(info.state, 'running')
	assert.equal(info.envdVersion, envdVersion(sbx))
	assert.ok(info.startedAt instanceof Date && !Number.isNaN(info.startedAt.getTime()), 'startedAt is a date')
	const life = (info.endAt.getTime() - info.startedAt.getTime()) / 1000
	assert.ok(life > 110 && life < 130, `endAt - startedAt = ${life}s, expected ~120s`)
	assert.ok(Math.abs(info.startedAt.getTime() - Date.now()) < 60_000, 'startedAt is about now')
	assert.ok(info.cpuCount >= 1, `cpuCount ${info.cpuCount}`)
	assert.ok(info.memoryMB >= 1, `memoryMB ${info.memoryMB}`)
	const r = await sbx.commands.run('printf %s "$CONF_FOO"', rto)
	assert.equal(r.stdout, 'bar baz', 'sandbox-level envs reach commands')
	await killSandbox(sbx)
})

test('lifecycle: envdAccessToken is issued and envd enforces it', T, async () => {
	const sbx = await createSandbox()
	assert.equal(typeof sbx.envdAccessToken, 'string', 'v2 create returns envdAccessToken')
	assert.ok(sbx.envdAccessToken.length >= 16, 'token is not trivially short')
	const stat = { path: '/' }
	let res = await envdRpc(sbx, 'filesystem.Filesystem/Stat', stat, { token: false })
	assert.equal(res.status, 401, 'unary RPC without X-Access-Token')
	let body = await res.json()
	assert.equal(body.code, 401, 'envd token error carries an integer code')
	assert.equal(typeof body.message, 'string')
	res = await envdRpc(sbx, 'filesystem.Filesystem/Stat', stat, { token: 'wrong-token' })
	assert.equal(res.status, 401, 'unary RPC with a wrong token')
	await res.body?.cancel()
	res = await envdRpc(sbx, 'filesystem.Filesystem/Stat', stat)
	assert.equal(res.status, 200, 'unary RPC with the token')
	body = await res.json()
	assert.equal(body.entry.type, 'FILE_TYPE_DIRECTORY')
	// A streaming RPC is refused before anything runs.
	const marker = `/tmp/${uniq('marker')}`
	const json = Buffer.from(JSON.stringify({ process: { cmd: '/bin/sh', args: ['-c', `touch ${marker}`] }, stdin: false }))
	const env = Buffer.alloc(5 + json.length)
	env.writeUInt32BE(json.length, 1)
	json.copy(env, 5)
	res = await envdFetch(sbx, '/process.Process/Start', {
		method: 'POST', token: false, body: env,
		headers: { 'Content-Type': 'application/connect+json', 'Connect-Protocol-Version': '1' },
	})
	assert.equal(res.status, 401, 'streaming RPC without token is a plain 401')
	await res.body?.cancel()
	await sleep(300)
	assert.equal(await sbx.files.exists(marker, rto), false, 'refused Start ran nothing')
	// /health is exempt; /files needs the token or a signature.
	res = await envdFetch(sbx, '/health', { token: false })
	assert.equal(res.status, 204, 'GET /health without token')
	res = await envdFetch(sbx, '/files?path=%2Fetc%2Fhostname', { token: false })
	assert.equal(res.status, 401, 'GET /files without token or signature')
	body = await res.json()
	assert.equal(body.code, 401)
	res = await envdFetch(sbx, '/files?path=%2Fetc%2Fhostname')
	assert.equal(res.status, 200, 'GET /files with token')
	await res.body?.cancel()
	await killSandbox(sbx)
})

test('lifecycle: wrong API key gives AuthenticationError', T, async () => {
	checkEnv() // never let a bad key go to the default (cloud) API URL
	const bad = 'e2b_' + '0'.repeat(40)
	await assert.rejects(Sandbox.create(TEMPLATE, { apiKey: bad, ...rto }), AuthenticationError)
	await assert.rejects(Sandbox.list({ apiKey: bad, ...rto }).nextItems(), AuthenticationError)
	await assert.rejects(Sandbox.kill('nonexistent', { apiKey: bad, ...rto }), AuthenticationError)
	const res = await apiFetch('GET', '/v2/sandboxes', { key: null })
	assert.equal(res.status, 401, 'missing key')
	const body = await res.json()
	assert.equal(body.code, 401, 'E2B error JSON has integer code')
	assert.equal(typeof body.message, 'string')
})

test('lifecycle: list filters by metadata and state, and paginates', T, async () => {
	const tag = uniq('list')
	const a = await createSandbox({ metadata: { suite: tag, idx: 'a' } })
	const odd = 'a b&c=d/é%20?#'
	const b = await createSandbox({ metadata: { suite: tag, idx: 'b', odd } })
	const ids = (xs) => xs.map((s) => s.sandboxId).sort()
	const all = async (query, limit) => {
		const p = Sandbox.list({ query, limit, ...rto })
		const out = []
		for (let i = 0; i < 10 && p.hasNext; i++) out.push(...(await p.nextItems()))
		assert.equal(p.hasNext, false, 'paginator terminates')
		return out
	}
	let got = await all({ metadata: { suite: tag } })
	assert.deepEqual(ids(got), [a.sandboxId, b.sandboxId].sort(), 'metadata filter')
	const la = got.find((s) => s.sandboxId === a.sandboxId)
	assert.deepEqual(la.metadata, { suite: tag, idx: 'a' })
	assert.equal(la.state, 'running')
	assert.ok(la.startedAt instanceof Date && !Number.isNaN(la.startedAt.getTime()))
	got = await all({ metadata: { suite: tag, idx: 'b' } })
	assert.deepEqual(ids(got), [b.sandboxId], 'two metadata keys AND together')
	got = await all({ metadata: { odd } })
	assert.deepEqual(ids(got), [b.sandboxId], 'metadata value with reserved characters (double-encoded by the SDK)')
	assert.equal(got[0].metadata.odd, odd)
	got = await all({ metadata: { suite: tag, idx: 'c' } })
	assert.equal(got.length, 0, 'AND with a non-matching value')
	got = await all(undefined)
	assert.ok(ids(got).includes(a.sandboxId) && ids(got).includes(b.sandboxId), 'unfiltered list includes both')
	got = await all({ metadata: { suite: uniq('nomatch') } })
	assert.equal(got.length, 0, 'no match gives an empty list')
	// Pagination: one per page.
	const p = Sandbox.list({ query: { metadata: { suite: tag } }, limit: 1, ...rto })
	const first = await p.nextItems()
	assert.equal(first.length, 1, 'limit 1 gives one item')
	assert.equal(p.hasNext, true, 'X-Next-Token announces the second page')
	const second = await p.nextItems()
	assert.equal(second.length, 1)
	assert.notEqual(first[0].sandboxId, second[0].sandboxId, 'pages do not repeat')
	if (p.hasNext) assert.equal((await p.nextItems()).length, 0, 'nothing after the last item')
	// State filter.
	assert.equal(await b.pause(rto), true)
	got = await all({ metadata: { suite: tag }, state: ['paused'] })
	assert.deepEqual(ids(got), [b.sandboxId], 'state=paused')
	assert.equal(got[0].state, 'paused')
	got = await all({ metadata: { suite: tag }, state: ['running'] })
	assert.deepEqual(ids(got), [a.sandboxId], 'state=running')
	got = await all({ metadata: { suite: tag }, state: ['running', 'paused'] })
	assert.deepEqual(ids(got), [a.sandboxId, b.sandboxId].sort(), 'state=running,paused')
	await killSandbox(a)
	await killSandbox(b)
	got = await all({ metadata: { suite: tag } })
	assert.equal(got.length, 0, 'killed sandboxes are not listed')
})

test('lifecycle: setTimeout moves endAt and an expired sandbox is gone', T, async () => {
	const sbx = await createSandbox({ timeoutMs: 60_000 })
	await sbx.setTimeout(200_000, rto)
	let info = await sbx.getInfo(rto)
	let left = (info.endAt.getTime() - Date.now()) / 1000
	assert.ok(left > 180 && left < 215, `endAt ${left}s from now after setTimeout(200s)`)
	await sbx.setTimeout(3_000, rto)
	info = await sbx.getInfo(rto)
	left = (info.endAt.getTime() - Date.now()) / 1000
	assert.ok(left < 10, `endAt ${left}s from now after setTimeout(3s)`)
	await waitFor(async () => {
		try {
			await Sandbox.getInfo(sbx.sandboxId, rto)
			return false
		} catch (e) {
			if (e instanceof SandboxNotFoundError) return true
			throw e
		}
	}, { timeoutMs: 20_000, intervalMs: 500, what: 'the sandbox to expire' })
	forget(sbx.sandboxId)
	assert.equal(await Sandbox.kill(sbx.sandboxId, rto), false, 'kill of an expired sandbox')
	await assert.rejects(sbx.setTimeout(10_000, rto), SandboxNotFoundError, 'setTimeout of a gone sandbox')
})

test('lifecycle: pause, pause again, resume via connect keeps files', T, async () => {
	const sbx = await createSandbox()
	await sbx.files.write('/home/user/keep.txt', 'kept across pause', rto)
	assert.equal(await sbx.isRunning(rto), true)
	assert.equal(await sbx.pause(rto), true, 'first pause')
	let info = await sbx.getInfo(rto)
	assert.equal(info.state, 'paused')
	assert.equal(await sbx.pause(rto), false, 'pause of a paused sandbox answers 409 -> false')
	assert.equal(await sbx.isRunning(rto), false, 'envd of a paused sandbox answers 502')
	const again = await Sandbox.connect(sbx.sandboxId, { timeoutMs: 100_000, ...rto })
	assert.equal(again.sandboxId, sbx.sandboxId)
	assert.equal(again.envdAccessToken, sbx.envdAccessToken, 'connect returns the same access token')
	info = await again.getInfo(rto)
	assert.equal(info.state, 'running', 'connect resumed it')
	const left = (info.endAt.getTime() - Date.now()) / 1000
	assert.ok(left > 85 && left < 110, `a resumed sandbox runs for the connect timeout (${left}s left, asked 100 s)`)
	assert.equal(await again.isRunning(rto), true)
	assert.equal(await again.files.read('/home/user/keep.txt', rto), 'kept across pause')
	const r = await again.commands.run('echo alive', rto)
	assert.equal(r.stdout, 'alive\n')
	// Connect to a running sandbox is fine too (200) and keeps it working.
	const third = await Sandbox.connect(sbx.sandboxId, rto)
	assert.equal((await third.commands.run('echo still', rto)).stdout, 'still\n')
	// A paused sandbox can be killed directly.
	assert.equal(await third.pause(rto), true)
	assert.equal(await killSandbox(sbx), true, 'kill of a paused sandbox')
	await assert.rejects(Sandbox.getInfo(sbx.sandboxId, rto), SandboxNotFoundError)
})

test('lifecycle: paused sandbox processes are frozen and thaw on resume', T, async () => {
	const sbx = await createSandbox()
	const h = await sbx.commands.run('i=0; while true; do i=$((i+1)); echo $i > /tmp/counter; sleep 0.1; done', { background: true, timeoutMs: 0, ...rto })
	const readCounter = async (s) => Number((await s.files.read('/tmp/counter', rto)).trim())
	await waitFor(async () => (await readCounter(sbx)) >= 3, { timeoutMs: 10_000, what: 'the counter to run' })
	const before = await readCounter(sbx)
	assert.equal(await sbx.pause(rto), true)
	await sleep(3000) // 30 ticks if the loop were still running
	const again = await Sandbox.connect(sbx.sandboxId, rto)
	const resumed = await readCounter(again)
	assert.ok(resumed - before < 12, `counter stood still while paused (${before} -> ${resumed} over a 3 s pause)`)
	await sleep(1000)
	const later = await readCounter(again)
	assert.ok(later > resumed, `counter continues after resume (${resumed} -> ${later})`)
	await h.kill().catch(() => {})
	await killSandbox(sbx)
})

test('lifecycle: kill returns true, then false; unknown id is false', T, async () => {
	const sbx = await createSandbox()
	assert.equal(await killSandbox(sbx), true)
	assert.equal(await Sandbox.kill(sbx.sandboxId, rto), false, 'second kill')
	assert.equal(await Sandbox.kill('doesnotexist0000', rto), false, 'unknown id')
	await assert.rejects(Sandbox.getInfo(sbx.sandboxId, rto), SandboxNotFoundError)
	await assert.rejects(Sandbox.connect(sbx.sandboxId, rto), SandboxNotFoundError)
	const gone = await apiFetch('GET', `/sandboxes/${sbx.sandboxId}`)
	assert.equal(gone.status, 404)
	const gb = await gone.json()
	assert.equal(gb.code, 404, 'E2B error JSON with integer code')
	assert.equal(typeof gb.message, 'string')
	assert.equal(await sbx.isRunning(rto), false, 'envd of a killed sandbox answers 502')
	const res = await envdFetch(sbx, '/health', { token: false })
	assert.equal(res.status, 502)
	const body = await res.json()
	assert.equal(body.code, 502, 'edge-proxy style 502 JSON')
	assert.equal(body.sandboxId, sbx.sandboxId)
})

test('lifecycle: getMetrics answers for a running sandbox', T, async (t) => {
	const sbx = await createSandbox()
	if (!versionAtLeast(envdVersion(sbx), '0.1.5')) {
		t.skip(`envd ${envdVersion(sbx)} has no metrics`)
		await killSandbox(sbx)
		return
	}
	const m = await sbx.getMetrics(rto)
	assert.ok(Array.isArray(m), 'metrics is a list')
	for (const x of m) {
		assert.equal(typeof x.cpuCount, 'number')
		assert.equal(typeof x.memTotal, 'number')
	}
	await killSandbox(sbx)
	await assert.rejects(Sandbox.getMetrics(sbx.sandboxId, rto), SandboxNotFoundError)
})

test('lifecycle: onTimeout "pause" pauses at expiry instead of killing', T, async () => {
	const sbx = await createSandbox({ timeoutMs: 3_000, lifecycle: { onTimeout: 'pause' } })
	await sbx.files.write('/home/user/before-autopause.txt', 'still here', rto)
	await waitFor(async () => (await sbx.getInfo(rto)).state === 'paused', { timeoutMs: 20_000, intervalMs: 500, what: 'auto-pause at expiry' })
	assert.equal(await sbx.isRunning(rto), false)
	const again = await Sandbox.connect(sbx.sandboxId, { timeoutMs: 60_000, ...rto })
	assert.equal((await again.getInfo(rto)).state, 'running')
	assert.equal(await again.files.read('/home/user/before-autopause.txt', rto), 'still here')
	await killSandbox(sbx)
})

test('lifecycle: connect to a running sandbox extends but never shortens its timeout', T, async () => {
	const sbx = await createSandbox({ timeoutMs: 240_000 })
	await Sandbox.connect(sbx.sandboxId, { timeoutMs: 30_000, ...rto })
	let left = ((await sbx.getInfo(rto)).endAt.getTime() - Date.now()) / 1000
	assert.ok(left > 200, `connect with a shorter timeout left ${left}s (expected ~240s)`)
	await Sandbox.connect(sbx.sandboxId, { timeoutMs: 600_000, ...rto })
	left = ((await sbx.getInfo(rto)).endAt.getTime() - Date.now()) / 1000
	assert.ok(left > 580 && left < 620, `connect with a longer timeout: ${left}s left (expected ~600s)`)
	await killSandbox(sbx)
})

test('lifecycle: two sandboxes have separate files and processes', T, async () => {
	const [a, b] = await Promise.all([createSandbox(), createSandbox()])
	const secret = uniq('secret')
	await a.files.write('/home/user/secret.txt', secret, rto)
	await a.files.write('/tmp/a-only', secret, rto)
	const sleeper = await a.commands.run(`exec -a ${secret} sleep 60`, { background: true, ...rto })
	assert.equal(await b.files.exists('/home/user/secret.txt', rto), false)
	assert.equal(await b.files.exists('/tmp/a-only', rto), false)
	// A regex that matches the secret but not its own text, so grep never finds itself.
	const pat = `${secret.slice(0, 3)}[${secret[3]}]${secret.slice(4)}`
	let r = await b.commands.run(`grep -rl '${pat}' /home /tmp 2>/dev/null | wc -l`, rto)
	assert.equal(r.stdout.trim(), '0', 'B finds none of A\'s files')
	r = await b.commands.run(`for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done 2>/dev/null | grep -c '${pat}' || true`, rto)
	assert.equal(r.stdout.trim(), '0', 'B sees none of A\'s processes')
	r = await a.commands.run(`for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done 2>/dev/null | grep -c '${pat}' || true`, rto)
	assert.equal(r.stdout.trim(), '1', 'A sees its own sleeper (the check itself works)')
	assert.ok(!(await b.commands.list(rto)).some((p) => p.args.join(' ').includes(secret)), 'B lists none of A\'s processes')
	assert.ok((await a.commands.list(rto)).some((p) => p.args.join(' ').includes(secret)), 'A lists its sleeper')
	await sleeper.kill()
	await killSandbox(a)
	assert.equal(await b.isRunning(rto), true, 'killing A leaves B running')
	await killSandbox(b)
})

test('lifecycle: list order, startedAfter and template filters', T, async () => {
	const tag = uniq('order')
	const made = []
	for (const i of [0, 1, 2]) {
		if (i) await sleep(1100) // distinct start times even at one-second resolution
		made.push(await createSandbox({ metadata: { suite: tag, i: String(i) } }))
	}
	const [a, b, c] = made.map((s) => s.sandboxId)
	const list = async (opts) => {
		const p = Sandbox.list({ ...rto, ...opts, query: { metadata: { suite: tag }, ...(opts.query ?? {}) } })
		const out = []
		for (let i = 0; i < 10 && p.hasNext; i++) out.push(...(await p.nextItems()))
		return out.map((s) => s.sandboxId)
	}
	assert.deepEqual(await list({}), [c, b, a], 'default order is newest first')
	assert.deepEqual(await list({ order: 'desc' }), [c, b, a])
	assert.deepEqual(await list({ order: 'asc' }), [a, b, c])
	assert.deepEqual(await list({ order: 'asc', limit: 1 }), [a, b, c], 'pages follow the order')
	const bInfo = await Sandbox.getInfo(b, rto)
	assert.deepEqual(await list({ order: 'asc', query: { startedAfter: bInfo.startedAt } }), [b, c], 'startedAfter is at-or-after')
	assert.deepEqual(await list({ order: 'asc', query: { template: TEMPLATE } }), [a, b, c], 'template filter')
	assert.deepEqual(await list({ query: { template: 'no-such-template' } }), [], 'unknown template matches nothing')
	for (const s of made) await killSandbox(s)
})

test('lifecycle: default timeout is 300 s; unknown template is refused', T, async () => {
	const sbx = await createSandbox({ timeoutMs: undefined })
	const info = await sbx.getInfo(rto)
	const life = (info.endAt.getTime() - info.startedAt.getTime()) / 1000
	assert.ok(life > 290 && life < 310, `no timeout in the request gives the 300 s default (got ${life}s)`)
	await killSandbox(sbx)
	let err
	try {
		const s = await Sandbox.create('no-such-template-xyz', rto)
		forget(s.sandboxId)
		await s.kill().catch(() => {})
	} catch (e) {
		err = e
	}
	assert.ok(err, 'create with an unknown template fails')
	assert.ok(err.statusCode >= 400 && err.statusCode < 500, `4xx for an unknown template (got ${err.statusCode}: ${err.message})`)
})
