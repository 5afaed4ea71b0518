// SPDX-License-Identifier: MIT
// Restart of e2bd seen through the official SDK: a private e2bd is started on
// its own port and state dir, a sandbox gets a file and a process, e2bd is
// restarted, and the sandbox must come back listed as paused, resumable by
// connect, with its files and without its old processes.

import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync, openSync, closeSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { Sandbox } from 'e2b'
import { sleep, waitFor, within } from './lib.mjs'

const rto = { requestTimeoutMs: 20_000 }
let child = null

function freePort() {
	return new Promise((resolve, reject) => {
		const s = createServer()
		s.on('error', reject)
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address()
			s.close(() => resolve(port))
		})
	})
}

async function startE2bd(bin, port, stateDir, keyFile, logFile) {
	const fd = openSync(logFile, 'a')
	child = spawn(bin, ['--listen', `127.0.0.1:${port}`, '--state-dir', stateDir, '--api-key-file', keyFile], {
		stdio: ['ignore', fd, fd],
	})
	closeSync(fd)
	const me = child
	await waitFor(async () => {
		if (me.exitCode !== null) throw new Error(`e2bd exited with ${me.exitCode}: ${readFileSync(logFile, 'utf8').slice(-500)}`)
		const r = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) })
		return r.ok
	}, { timeoutMs: 15_000, what: 'private e2bd to come up' })
}

async function stopE2bd() {
	const me = child
	if (!me || me.exitCode !== null) return
	const done = new Promise((r) => me.once('exit', r))
	me.kill('SIGTERM')
	const t = setTimeout(() => me.kill('SIGKILL'), 10_000)
	await done
	clearTimeout(t)
	child = null
}

after(stopE2bd)

test('restart: sandboxes survive an e2bd restart as paused and resume with their files', { timeout: 90_000 }, async (t) => {
	const bin = process.env.E2BD_BIN
	const tmp = process.env.TEST_TMP
	if (!bin || !tmp) return t.skip('needs E2BD_BIN and TEST_TMP (run through tests/run)')
	const dir = mkdtempSync(join(tmp, 'conf-restart-'))
	const keyFile = join(dir, 'api-key')
	const key = `e2b_${randomBytes(16).toString('hex')}`
	writeFileSync(keyFile, `${key}\n`, { mode: 0o600 })
	const port = await freePort()
	const url = `http://127.0.0.1:${port}`
	const conn = { apiKey: key, apiUrl: url, sandboxUrl: url, ...rto }
	const log = join(dir, 'e2bd.log')
	await startE2bd(bin, port, join(dir, 'state'), keyFile, log)

	const sbx = await Sandbox.create('base', { ...conn, timeoutMs: 120_000, metadata: { restart: 'yes' } })
	try {
		await sbx.files.write('/home/user/persist/data.txt', 'survives restart', rto)
		await sbx.commands.run('echo from-process > /home/user/persist/proc.txt', rto)
		const bg = await sbx.commands.run('sleep 300', { background: true, ...rto })
		assert.ok(bg.pid > 0)

		await stopE2bd()
		await startE2bd(bin, port, join(dir, 'state'), keyFile, log)

		const p = Sandbox.list({ ...conn, query: { metadata: { restart: 'yes' } } })
		const listed = await p.nextItems()
		assert.deepEqual(listed.map((s) => [s.sandboxId, s.state]), [[sbx.sandboxId, 'paused']], 'listed again, paused')
		assert.equal((await Sandbox.getInfo(sbx.sandboxId, conn)).state, 'paused')

		const again = await within(Sandbox.connect(sbx.sandboxId, conn), 30_000, 'connect after restart')
		assert.equal((await again.getInfo(rto)).state, 'running')
		assert.equal(await again.files.read('/home/user/persist/data.txt', rto), 'survives restart')
		assert.equal(await again.files.read('/home/user/persist/proc.txt', rto), 'from-process\n')
		const procs = await again.commands.list(rto)
		assert.ok(!procs.some((x) => x.args?.includes('sleep 300')), `old processes are gone: ${JSON.stringify(procs)}`)
		assert.equal((await again.commands.run('echo works', rto)).stdout, 'works\n', 'new processes run')
		assert.equal(await again.kill(rto), true)
	} finally {
		await Sandbox.kill(sbx.sandboxId, conn).catch(() => {})
		await sleep(100)
		await stopE2bd()
	}
})
