// SPDX-License-Identifier: MIT
// Load through the official SDK: 50 live sandboxes at once, and 200
// concurrent envd requests against one sandbox while long streams are open.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Sandbox } from 'e2b'
import { readdirSync } from 'node:fs'
import { REQUEST_TIMEOUT_MS, createSandbox, killSandbox, uniq, within, sleep } from './lib.mjs'

const rto = { requestTimeoutMs: REQUEST_TIMEOUT_MS }

/* Run fns with at most n in flight. */
async function pool(n, fns) {
	const out = new Array(fns.length)
	let next = 0
	await Promise.all(Array.from({ length: n }, async () => {
		while (next < fns.length) {
			const i = next++
			out[i] = await fns[i]()
		}
	}))
	return out
}

test('load: 50 live sandboxes, each isolated and working', { timeout: 110_000 }, async () => {
	const tag = uniq('load')
	const sbxs = await pool(10, Array.from({ length: 50 }, (_, i) => () => createSandbox({ metadata: { suite: tag, n: String(i) } })))
	try {
		assert.equal(new Set(sbxs.map((s) => s.sandboxId)).size, 50, 'distinct ids')
		const p = Sandbox.list({ query: { metadata: { suite: tag }, state: ['running'] }, ...rto })
		const listed = []
		for (let i = 0; i < 10 && p.hasNext; i++) listed.push(...(await p.nextItems()))
		assert.equal(listed.length, 50, 'all 50 are listed as running')
		const outs = await pool(10, sbxs.map((s, i) => async () => {
			await s.files.write('/home/user/who', `sandbox ${i}`, rto)
			return (await s.commands.run('cat /home/user/who; echo; hostname', rto)).stdout
		}))
		outs.forEach((o, i) => assert.equal(o, `sandbox ${i}\n${sbxs[i].sandboxId}\n`, `sandbox ${i} sees only its own file`))
	} finally {
		await pool(10, sbxs.map((s) => () => killSandbox(s).catch(() => false)))
	}
})

test('load: 200 concurrent envd requests while long streams stay open', { timeout: 110_000 }, async () => {
	const sbx = await createSandbox()
	try {
		for (let i = 0; i < 20; i++) await sbx.files.write(`/home/user/load/f${i}.txt`, `file ${i}\n`.repeat(i + 1), rto)
		// Long-lived streams: a chatty command and a directory watch.
		let ticks = 0
		const chatty = await sbx.commands.run('while true; do echo tick; sleep 0.05; done', { background: true, timeoutMs: 0, onStdout: () => { ticks++ }, ...rto })
		let events = 0
		const watch = await sbx.files.watchDir('/home/user/load', () => { events++ }, { timeoutMs: 0, ...rto })
		const t0 = Date.now()
		const jobs = Array.from({ length: 200 }, (_, k) => async () => {
			const i = k % 20
			switch (k % 4) {
			case 0: return (await sbx.files.read(`/home/user/load/f${i}.txt`, rto)) === `file ${i}\n`.repeat(i + 1)
			case 1: return (await sbx.files.getInfo(`/home/user/load/f${i}.txt`, rto)).size === `file ${i}\n`.length * (i + 1)
			case 2: return (await sbx.commands.run(`echo job${k}`, rto)).stdout === `job${k}\n`
			default: return (await sbx.files.write(`/home/user/load/w${k}.txt`, `w${k}`, rto)).path === `/home/user/load/w${k}.txt`
			}
		})
		const ok = await within(Promise.all(jobs.map((j) => j())), 90_000, '200 concurrent requests')
		const bad = ok.map((v, k) => (v ? null : k)).filter((k) => k !== null)
		assert.deepEqual(bad, [], 'every concurrent request returned the right answer')
		const took = Date.now() - t0
		const before = ticks
		await new Promise((r) => setTimeout(r, 500))
		assert.ok(ticks > before, 'the long command stream is still delivering')
		assert.ok(events >= 50, `the watch saw the concurrent writes (${events} events)`)
		assert.ok(took < 90_000, `200 requests took ${took} ms`)
		await watch.stop()
		await chatty.kill()
	} finally {
		await killSandbox(sbx).catch(() => {})
	}
})

test('load: 1200 short commands in one sandbox (no fd or process leak in e2bd)', { timeout: 110_000 }, async () => {
	const sbx = await createSandbox()
	// tests/run exports E2BD_PID: watch e2bd's open descriptors on this host.
	const fdDir = process.env.E2BD_PID ? `/proc/${process.env.E2BD_PID}/fd` : null
	const fds = () => { try { return readdirSync(fdDir).length } catch { return null } }
	try {
		await sbx.commands.run('true', rto) // warm up pools and connections
		const before = fdDir ? fds() : null
		const n = 1200
		const outs = await pool(8, Array.from({ length: n }, (_, i) => async () => (await sbx.commands.run(`echo c${i}`, rto)).stdout))
		const bad = outs.map((o, i) => (o === `c${i}\n` ? null : i)).filter((i) => i !== null)
		assert.deepEqual(bad, [], 'every command answered correctly')
		if (before !== null) {
			await sleep(500)
			const after = fds()
			assert.ok(after !== null && after - before < 100, `e2bd holds ${before} fds before and ${after} after ${n} commands`)
		}
		const procs = await sbx.commands.list(rto)
		assert.equal(procs.length, 0, `no processes left behind: ${procs.length}`)
		assert.equal((await sbx.files.write('/home/user/after.txt', 'still fine', rto)).path, '/home/user/after.txt')
		assert.equal(await sbx.files.read('/home/user/after.txt', rto), 'still fine')
	} finally {
		await killSandbox(sbx).catch(() => {})
	}
})
