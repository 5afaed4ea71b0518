// SPDX-License-Identifier: MIT
// Restart of e2bd seen through the official SDK: a private e2bd is started on
// its own port and state dir, a sandbox gets a file and a process, e2bd is
// restarted, and the sandbox must come back listed as paused, resumable by
// connect, with its files and without its old processes.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Sandbox } from 'e2b'
import { PrivateE2bd, within } from './lib.mjs'

const rto = { requestTimeoutMs: 20_000 }

test('restart: sandboxes survive an e2bd restart as paused and resume with their files', { timeout: 90_000 }, async (t) => {
	if (!process.env.E2BD_BIN || !process.env.TEST_TMP) return t.skip('needs E2BD_BIN and TEST_TMP (run through tests/run)')
	const d = new PrivateE2bd()
	await d.start()
	const sbx = await Sandbox.create('base', { ...d.conn, timeoutMs: 120_000, metadata: { restart: 'yes' } })
	try {
		await sbx.files.write('/home/user/persist/data.txt', 'survives restart', rto)
		await sbx.commands.run('echo from-process > /home/user/persist/proc.txt', rto)
		const bg = await sbx.commands.run('sleep 300', { background: true, ...rto })
		assert.ok(bg.pid > 0)

		await d.stop()
		await d.start()

		const listed = await Sandbox.list({ ...d.conn, query: { metadata: { restart: 'yes' } } }).nextItems()
		assert.deepEqual(listed.map((s) => [s.sandboxId, s.state]), [[sbx.sandboxId, 'paused']], 'listed again, paused')
		assert.equal((await Sandbox.getInfo(sbx.sandboxId, d.conn)).state, 'paused')

		const again = await within(Sandbox.connect(sbx.sandboxId, d.conn), 30_000, 'connect after restart')
		assert.equal((await again.getInfo(rto)).state, 'running')
		assert.equal(await again.files.read('/home/user/persist/data.txt', rto), 'survives restart')
		assert.equal(await again.files.read('/home/user/persist/proc.txt', rto), 'from-process\n')
		const procs = await again.commands.list(rto)
		assert.ok(!procs.some((x) => x.args?.includes('sleep 300')), `old processes are gone: ${JSON.stringify(procs)}`)
		assert.equal((await again.commands.run('echo works', rto)).stdout, 'works\n', 'new processes run')
		assert.equal(await again.kill(rto), true)
	} finally {
		await Sandbox.kill(sbx.sandboxId, d.conn).catch(() => {})
		await d.stop()
	}
	d.assertClean()
})

test('restart: a raw API key without the e2b_ prefix works (no client-side format check)', { timeout: 60_000 }, async (t) => {
	if (!process.env.E2BD_BIN || !process.env.TEST_TMP) return t.skip('needs E2BD_BIN and TEST_TMP (run through tests/run)')
	const d = new PrivateE2bd([], { key: `raw-${Date.now().toString(36)}-Key.With_Odd+chars` })
	await d.start()
	const sbx = await Sandbox.create('base', { ...d.conn, timeoutMs: 60_000 })
	try {
		assert.equal((await sbx.commands.run('echo ok', rto)).stdout, 'ok\n')
		await assert.rejects(Sandbox.list({ ...d.conn, apiKey: 'e2b_' + '1'.repeat(32) }).nextItems(), /Unauthorized/)
	} finally {
		assert.equal(await Sandbox.kill(sbx.sandboxId, d.conn), true)
		await d.stop()
	}
	d.assertClean()
})
