// SPDX-License-Identifier: MIT
// Directory watching through the official SDK (WatchDir stream): recursive and
// non-recursive watches, event names relative to the watched dir, events
// caused by processes, entry info, stop, and errors.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FilesystemEventType, NotFoundError, InvalidArgumentError } from 'e2b'
import {
	REQUEST_TIMEOUT_MS, sharedSandbox, createSandbox, killSandbox, envdVersion, versionAtLeast, waitFor, sleep, rejectsWith, envdFetch, within,
} from './lib.mjs'

const T = { timeout: 60_000 }
const rto = { requestTimeoutMs: REQUEST_TIMEOUT_MS }
const sandbox = sharedSandbox()
const HOME = '/home/user'

function recorder() {
	const events = []
	const has = (name, type) => events.some((e) => e.name === name && e.type === type)
	const waitHas = (name, type, timeoutMs = 10_000) =>
		waitFor(() => has(name, type), { timeoutMs, what: `${type} event for '${name}' (got ${JSON.stringify(events)})` })
	return { events, has, waitHas, onEvent: (e) => { events.push(e) } }
}

test('watch: recursive watch reports create, write, remove and rename with relative names', T, async () => {
	const sbx = await sandbox()
	const dir = `${HOME}/w1`
	await sbx.files.makeDir(`${dir}/sub`, rto)
	const r = recorder()
	const h = await sbx.files.watchDir(dir, r.onEvent, { recursive: true, ...rto })
	try {
		await sbx.files.write(`${dir}/a.txt`, 'a', rto)
		await r.waitHas('a.txt', FilesystemEventType.CREATE)
		await r.waitHas('a.txt', FilesystemEventType.WRITE)
		await sbx.files.write(`${dir}/sub/b.txt`, 'b', rto)
		await r.waitHas('sub/b.txt', FilesystemEventType.CREATE)
		await sbx.files.makeDir(`${dir}/sub/newdir`, rto)
		await r.waitHas('sub/newdir', FilesystemEventType.CREATE)
		// A directory created after the watch started is watched too.
		await sbx.files.write(`${dir}/sub/newdir/c.txt`, 'c', rto)
		await r.waitHas('sub/newdir/c.txt', FilesystemEventType.CREATE)
		await sbx.files.remove(`${dir}/a.txt`, rto)
		await r.waitHas('a.txt', FilesystemEventType.REMOVE)
		await sbx.files.rename(`${dir}/sub/b.txt`, `${dir}/sub/b2.txt`, rto)
		await r.waitHas('sub/b.txt', FilesystemEventType.RENAME)
		await r.waitHas('sub/b2.txt', FilesystemEventType.CREATE)
		for (const e of r.events) assert.ok(!e.name.startsWith('/'), `event name '${e.name}' is relative`)
	} finally {
		await h.stop()
	}
})

test('watch: events caused by processes arrive (chmod too)', T, async () => {
	const sbx = await sandbox()
	const dir = `${HOME}/w2`
	await sbx.files.makeDir(dir, rto)
	const r = recorder()
	const h = await sbx.files.watchDir(dir, r.onEvent, rto)
	try {
		await sbx.commands.run(`echo hi > ${dir}/p.txt && chmod 600 ${dir}/p.txt && rm ${dir}/p.txt`, rto)
		await r.waitHas('p.txt', FilesystemEventType.CREATE)
		await r.waitHas('p.txt', FilesystemEventType.WRITE)
		await r.waitHas('p.txt', FilesystemEventType.CHMOD)
		await r.waitHas('p.txt', FilesystemEventType.REMOVE)
		const order = r.events.filter((e) => e.name === 'p.txt').map((e) => e.type)
		assert.ok(order.indexOf(FilesystemEventType.CREATE) < order.lastIndexOf(FilesystemEventType.REMOVE), `create before remove: ${order}`)
	} finally {
		await h.stop()
	}
})

test('watch: non-recursive watch ignores changes inside subdirectories', T, async () => {
	const sbx = await sandbox()
	const dir = `${HOME}/w3`
	await sbx.files.makeDir(`${dir}/sub`, rto)
	const r = recorder()
	const h = await sbx.files.watchDir(dir, r.onEvent, { recursive: false, ...rto })
	try {
		await sbx.files.write(`${dir}/sub/deep.txt`, 'deep', rto)
		await sbx.files.write(`${dir}/top.txt`, 'top', rto)
		await r.waitHas('top.txt', FilesystemEventType.CREATE)
		await sleep(500)
		assert.ok(!r.events.some((e) => e.name.includes('deep.txt')), `no event for sub/deep.txt: ${JSON.stringify(r.events)}`)
	} finally {
		await h.stop()
	}
})

test('watch: includeEntry carries entry info (envd >= 0.6.3)', T, async (t) => {
	const sbx = await sandbox()
	if (!versionAtLeast(envdVersion(sbx), '0.6.3')) return t.skip(`envd ${envdVersion(sbx)} has no includeEntry`)
	const dir = `${HOME}/w4`
	await sbx.files.makeDir(dir, rto)
	const r = recorder()
	const h = await sbx.files.watchDir(dir, r.onEvent, { includeEntry: true, ...rto })
	try {
		await sbx.files.write(`${dir}/e.txt`, 'entry!', rto)
		await r.waitHas('e.txt', FilesystemEventType.CREATE)
		const ev = r.events.find((e) => e.name === 'e.txt' && e.type === FilesystemEventType.CREATE)
		assert.ok(ev.entry, 'create event has an entry')
		assert.equal(ev.entry.path, `${dir}/e.txt`)
		assert.equal(ev.entry.name, 'e.txt')
		await sbx.files.remove(`${dir}/e.txt`, rto)
		await r.waitHas('e.txt', FilesystemEventType.REMOVE)
		const rm = r.events.find((e) => e.name === 'e.txt' && e.type === FilesystemEventType.REMOVE)
		assert.equal(rm.entry, undefined, 'remove events carry no entry')
	} finally {
		await h.stop()
	}
})

test('watch: stop ends delivery; two watchers see the same events', T, async () => {
	const sbx = await sandbox()
	const dir = `${HOME}/w5`
	await sbx.files.makeDir(dir, rto)
	const r1 = recorder()
	const r2 = recorder()
	const h1 = await sbx.files.watchDir(dir, r1.onEvent, rto)
	const h2 = await sbx.files.watchDir(dir, r2.onEvent, rto)
	try {
		await sbx.files.write(`${dir}/both.txt`, '1', rto)
		await r1.waitHas('both.txt', FilesystemEventType.CREATE)
		await r2.waitHas('both.txt', FilesystemEventType.CREATE)
		await h1.stop()
		await sleep(200)
		await sbx.files.write(`${dir}/after.txt`, '2', rto)
		await r2.waitHas('after.txt', FilesystemEventType.CREATE)
		await sleep(300)
		assert.ok(!r1.has('after.txt', FilesystemEventType.CREATE), 'stopped watcher got no more events')
	} finally {
		await h1.stop()
		await h2.stop()
	}
})

test('watch: watching a missing dir or a file fails', T, async () => {
	const sbx = await sandbox()
	await rejectsWith(sbx.files.watchDir(`${HOME}/no-such-dir`, () => {}, rto), NotFoundError, 'watch of a missing dir')
	await sbx.files.write(`${HOME}/plainfile`, 'x', rto)
	await rejectsWith(sbx.files.watchDir(`${HOME}/plainfile`, () => {}, rto), InvalidArgumentError, 'watch of a regular file')
})

test('watch: overwriting an existing file reports write, not create', T, async () => {
	const sbx = await sandbox()
	const dir = `${HOME}/w6`
	await sbx.files.write(`${dir}/same.txt`, 'first', rto)
	const r = recorder()
	const h = await sbx.files.watchDir(dir, r.onEvent, rto)
	try {
		await sbx.files.write(`${dir}/same.txt`, 'second, longer', rto)
		await r.waitHas('same.txt', FilesystemEventType.WRITE)
		await sleep(300)
		const types = r.events.filter((e) => e.name === 'same.txt').map((e) => e.type)
		assert.ok(!types.includes(FilesystemEventType.CREATE), `envd truncates in place, so no create event: ${types}`)
		assert.ok(!r.events.some((e) => e.name !== 'same.txt'), `no events for other names (temp files): ${JSON.stringify(r.events)}`)
	} finally {
		await h.stop()
	}
})

test('watch: WatchDir stream framing and keepalives on the wire', T, async () => {
	const sbx = await sandbox()
	const dir = `${HOME}/w7`
	await sbx.files.makeDir(dir, rto)
	const json = Buffer.from(JSON.stringify({ path: dir, recursive: false }))
	const req = Buffer.alloc(5 + json.length)
	req.writeUInt32BE(json.length, 1)
	json.copy(req, 5)
	const res = await envdFetch(sbx, '/filesystem.Filesystem/WatchDir', {
		method: 'POST', body: req, timeoutMs: 20_000,
		headers: { 'Content-Type': 'application/connect+json', 'Connect-Protocol-Version': '1', 'Keepalive-Ping-Interval': '1' },
	})
	assert.equal(res.status, 200)
	assert.match(res.headers.get('content-type') ?? '', /^application\/connect\+json/)
	const reader = res.body.getReader()
	let buf = Buffer.alloc(0)
	const frames = []
	const deadline = Date.now() + 3_500
	let wrote = false
	try {
		while (Date.now() < deadline) {
			const { value, done } = await within(reader.read(), 5_000, 'next WatchDir bytes')
			if (done) break
			buf = Buffer.concat([buf, Buffer.from(value)])
			while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
				const len = buf.readUInt32BE(1)
				frames.push({ flags: buf[0], msg: JSON.parse(buf.subarray(5, 5 + len).toString('utf8')) })
				buf = buf.subarray(5 + len)
			}
			if (!wrote && frames.length) {
				wrote = true
				await sbx.files.write(`${dir}/raw.txt`, 'raw', rto)
			}
		}
	} finally {
		await reader.cancel().catch(() => {})
	}
	assert.ok(frames.length > 0, 'got frames')
	assert.deepEqual(frames[0].msg, { start: {} }, 'first message is {"start":{}}')
	assert.ok(frames.every((f) => f.flags === 0), 'no end-stream while the watch runs')
	const fs = frames.filter((f) => f.msg.filesystem).map((f) => f.msg.filesystem)
	assert.ok(fs.some((e) => e.name === 'raw.txt' && e.type === 'EVENT_TYPE_CREATE'), `create event with enum name: ${JSON.stringify(fs)}`)
	assert.ok(frames.some((f) => f.msg.keepalive && Object.keys(f.msg.keepalive).length === 0), 'keepalive {} within 3.5 s at interval 1 s')
})

test('watch: killing or pausing the sandbox ends its open streams', T, async () => {
	for (const how of ['kill', 'pause']) {
		const sbx = await createSandbox()
		await sbx.files.makeDir('/home/user/wk', rto)
		let exited = null
		const h = await sbx.files.watchDir('/home/user/wk', () => {}, { timeoutMs: 0, onExit: (err) => { exited = err ?? 'clean' }, ...rto })
		const proc = await sbx.commands.run('sleep 100', { background: true, timeoutMs: 0, ...rto })
		const procEnd = proc.wait().then(() => 'resolved', () => 'rejected')
		if (how === 'kill') await killSandbox(sbx)
		else assert.equal(await sbx.pause(rto), true)
		await waitFor(() => exited !== null, { timeoutMs: 10_000, what: `the watch stream to end after ${how}` })
		assert.equal(await within(procEnd, 10_000, `the command stream to end after ${how}`), 'rejected', `command wait() fails after ${how}`)
		await h.stop()
		if (how === 'pause') await killSandbox(sbx)
	}
})
