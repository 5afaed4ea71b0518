// SPDX-License-Identifier: MIT
// e2bd --flavor openkruise seen by the official SDK and raw requests: the
// SDK's data plane with envd 0.2.10 semantics on a sandbox created the
// OpenKruise way, and the management API's OpenKruise answers (protocol.md
// §4.2: error JSON with request_id, 204 resume, timeout bounds, 500 mapping,
// routes OpenKruise does not register).

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { Sandbox, FilesystemEventType } from 'e2b'
import { PrivateE2bd, uniq, waitFor, within } from './lib.mjs'

const T = { timeout: 90_000 }
const rto = { requestTimeoutMs: 20_000 }
const haveEnv = () => process.env.E2BD_BIN && process.env.TEST_TMP
let daemon
async function kruise() {
	if (!daemon) {
		daemon = new PrivateE2bd(['--flavor', 'openkruise'])
		await daemon.start()
	}
	return daemon
}

async function createKruise(d, body) {
	const r = await d.api('POST', '/sandboxes', { templateID: 'base', timeout: 300, ...body })
	const text = await r.text()
	assert.equal(r.status, 201, `POST /sandboxes: ${text}`)
	return JSON.parse(text)
}

test('flavor openkruise: SDK data plane on a sandbox created via POST /sandboxes (envd 0.2.10)', T, async (t) => {
	if (!haveEnv()) return t.skip('needs E2BD_BIN and TEST_TMP (run through tests/run)')
	const d = await kruise()
	const tag = uniq('kr')
	const info = await createKruise(d, { metadata: { suite: tag } })
	assert.equal(info.envdVersion, '0.2.10', 'OpenKruise always reports envd 0.2.10')
	assert.equal(info.clientID, '')
	assert.equal(typeof info.envdAccessToken, 'string')
	assert.equal(info.state, 'running')
	// How a user reaches an OpenKruise sandbox with this SDK: build the handle.
	const sbx = new Sandbox({ sandboxId: info.sandboxID, envdVersion: info.envdVersion, envdAccessToken: info.envdAccessToken, ...d.conn })
	try {
		// Below envd 0.4.0 the SDK names the user on every call (Basic user / username=user).
		const w = await sbx.files.write('k/kruise.txt', 'kruise data', rto)
		assert.equal(w.path, '/home/user/k/kruise.txt')
		assert.equal(await sbx.files.read('/home/user/k/kruise.txt', rto), 'kruise data')
		assert.deepEqual((await sbx.files.list('/home/user/k', rto)).map((e) => e.name), ['kruise.txt'])
		assert.equal((await sbx.commands.run('id -un; pwd', rto)).stdout, 'user\n/home/user\n')
		assert.equal((await sbx.commands.run('id -u', { user: 'root', ...rto })).stdout, '0\n')
		const events = []
		const h = await sbx.files.watchDir('/home/user/k', (e) => events.push(e), { recursive: true, ...rto })
		// Make the subdirectory first: a file created in a brand-new directory can
		// beat the watch that envd adds for it (inotify has no recursion).
		await sbx.files.makeDir('/home/user/k/sub', rto)
		await waitFor(() => events.some((e) => e.name === 'sub' && e.type === FilesystemEventType.CREATE), { what: () => `watch event for sub: ${JSON.stringify(events)}` })
		await sbx.files.write('/home/user/k/sub/new.txt', 'n', rto)
		await waitFor(() => events.some((e) => e.name === 'sub/new.txt' && e.type === FilesystemEventType.CREATE), { what: () => `watch event for sub/new.txt: ${JSON.stringify(events)}` })
		await h.stop()
		let out = ''
		const dec = new TextDecoder()
		const p = await sbx.pty.create({ cols: 80, rows: 24, onData: (b) => { out += dec.decode(b, { stream: true }) }, timeoutMs: 0, ...rto })
		await sbx.pty.sendInput(p.pid, new TextEncoder().encode('echo k-$((20+22))\n'), rto)
		await waitFor(() => out.includes('k-42'), { what: 'pty output' })
		await sbx.pty.kill(p.pid, rto)
		await within(p.wait().catch(() => {}), 10_000, 'pty end')
		// Management API through the SDK.
		const gi = await Sandbox.getInfo(info.sandboxID, d.conn)
		assert.equal(gi.envdVersion, '0.2.10')
		assert.equal(gi.state, 'running')
		assert.equal(gi.metadata.suite, tag)
		const listed = await Sandbox.list({ ...d.conn, query: { metadata: { suite: tag } } }).nextItems()
		assert.deepEqual(listed.map((s) => s.sandboxId), [info.sandboxID])
		// Pause, then OpenKruise's resume: 204 with no body.
		assert.equal(await sbx.pause(rto), true)
		assert.equal((await Sandbox.getInfo(info.sandboxID, d.conn)).state, 'paused')
		const rr = await d.api('POST', `/sandboxes/${info.sandboxID}/resume`, { timeout: 120 })
		assert.equal(rr.status, 204, 'resume answers 204')
		assert.equal(await rr.text(), '', 'resume has no body')
		assert.equal((await Sandbox.getInfo(info.sandboxID, d.conn)).state, 'running')
		assert.equal(await sbx.files.read('/home/user/k/kruise.txt', rto), 'kruise data', 'files kept across pause/resume')
	} finally {
		assert.equal(await Sandbox.kill(info.sandboxID, d.conn), true)
	}
})

test('flavor openkruise: error JSON with request_id, timeout bounds, 500 mapping', T, async (t) => {
	if (!haveEnv()) return t.skip('needs E2BD_BIN and TEST_TMP (run through tests/run)')
	const d = await kruise()
	let r = await d.api('GET', '/sandboxes/no-such-sandbox')
	assert.equal(r.status, 404)
	let b = await r.json()
	assert.equal(b.code, 404)
	assert.equal(typeof b.message, 'string')
	assert.match(b.request_id ?? '', /^[0-9a-f]{32}$/, 'request_id is 32 hex digits')
	assert.ok('headers' in b, 'OpenKruise error JSON carries a headers member')
	r = await d.api('POST', '/sandboxes', { templateID: 'base', timeout: 10 })
	assert.equal(r.status, 400, 'create timeout below 30 s')
	b = await r.json()
	assert.match(b.message, /timeout should between 30 and/)
	const info = await createKruise(d, {})
	try {
		r = await d.api('POST', `/sandboxes/${info.sandboxID}/timeout`, { timeout: -5 })
		assert.equal(r.status, 500, 'every timeout error but 404 is a 500')
		await r.body?.cancel()
		r = await d.api('POST', '/sandboxes/no-such-sandbox/timeout', { timeout: 60 })
		assert.equal(r.status, 404)
		await r.body?.cancel()
		r = await fetch(`${d.url}/sandboxes/${info.sandboxID}`, { headers: { 'X-API-Key': 'e2b_wrong' }, signal: AbortSignal.timeout(10_000) })
		assert.equal(r.status, 401, 'wrong key')
		b = await r.json()
		assert.equal(b.code, 401)
	} finally {
		await Sandbox.kill(info.sandboxID, d.conn).catch(() => {})
	}
})

test('flavor openkruise: routes OpenKruise does not register are absent', T, async (t) => {
	if (!haveEnv()) return t.skip('needs E2BD_BIN and TEST_TMP (run through tests/run)')
	const d = await kruise()
	const info = await createKruise(d, {})
	try {
		// Go 1.22 ServeMux: a path registered for other methods answers 405.
		let r = await d.api('POST', '/v2/sandboxes', { templateID: 'base' })
		assert.equal(r.status, 405, 'POST /v2/sandboxes (only GET is registered)')
		await r.body?.cancel()
		r = await d.api('POST', `/v2/sandboxes/${info.sandboxID}/connect`, { timeout: 60 })
		assert.equal(r.status, 405, 'POST /v2/sandboxes/{id}/connect (the GET /v2/sandboxes/ subtree only)')
		await r.body?.cancel()
		r = await d.api('GET', '/sandboxes')
		assert.equal(r.status, 405, 'GET /sandboxes (v1 list is not implemented; only POST /sandboxes)')
		await r.body?.cancel()
		// So this SDK version cannot create sandboxes there (protocol.md §9.1).
		await assert.rejects(Sandbox.create('base', d.conn), 'Sandbox.create against OpenKruise')
	} finally {
		await Sandbox.kill(info.sandboxID, d.conn).catch(() => {})
	}
})

test('flavor openkruise: the wrapped e2b_6f6b6167… API key form is accepted (protocol.md §1.9)', T, async (t) => {
	if (!haveEnv()) return t.skip('needs E2BD_BIN and TEST_TMP (run through tests/run)')
	const d = await kruise()
	const raw = d.key
	const sum = createHash('sha256').update(`openkruise-agents/e2b-key-compat/v1${raw}`).digest('hex').slice(0, 16)
	const wrapped = `e2b_6f6b616701${raw.length.toString(16).padStart(8, '0')}${Buffer.from(raw).toString('hex')}${sum}`
	const info = await createKruise(d, {})
	try {
		const gi = await Sandbox.getInfo(info.sandboxID, { ...d.conn, apiKey: wrapped })
		assert.equal(gi.sandboxId, info.sandboxID, 'wrapped key accepted')
		const bad = wrapped.slice(0, -1) + (wrapped.endsWith('0') ? '1' : '0')
		const r = await fetch(`${d.url}/sandboxes/${info.sandboxID}`, { headers: { 'X-API-Key': bad }, signal: AbortSignal.timeout(10_000) })
		assert.equal(r.status, 401, 'a wrapped key with a wrong checksum is refused')
		await r.body?.cancel()
	} finally {
		await Sandbox.kill(info.sandboxID, d.conn).catch(() => {})
	}
})

test('flavor openkruise: the private e2bd stops cleanly', T, async (t) => {
	if (!haveEnv()) return t.skip('needs E2BD_BIN and TEST_TMP (run through tests/run)')
	const d = await kruise()
	await d.stop()
	d.assertClean()
})
