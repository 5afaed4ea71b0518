// SPDX-License-Identifier: MIT
// The SDK through the private path-prefix route (/kruise/<id>/49983 as the
// sandbox URL), where e2bd must strip the prefix and keep the query.  Signed
// URLs drop the prefix (protocol.md §9.7), so they are not used here.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Sandbox, FilesystemEventType } from 'e2b'
import { REQUEST_TIMEOUT_MS, SANDBOX_URL, createSandbox, killSandbox, waitFor, within } from './lib.mjs'

const rto = { requestTimeoutMs: REQUEST_TIMEOUT_MS }

test('routing: the SDK works through the /kruise/<id>/49983 path prefix', { timeout: 60_000 }, async () => {
	const base = await createSandbox()
	try {
		const prefix = `${SANDBOX_URL.replace(/\/+$/, '')}/kruise/${base.sandboxId}/49983`
		const sbx = await Sandbox.connect(base.sandboxId, { sandboxUrl: prefix, ...rto })
		const w = await sbx.files.write('/home/user/route/a b?c#d.txt', 'via prefix', rto)
		assert.equal(w.path, '/home/user/route/a b?c#d.txt', 'query survives the prefix strip')
		assert.equal(await sbx.files.read('/home/user/route/a b?c#d.txt', rto), 'via prefix')
		assert.deepEqual((await sbx.files.list('/home/user/route', rto)).map((e) => e.name), ['a b?c#d.txt'])
		const r = await sbx.commands.run('echo routed; id -un', rto)
		assert.equal(r.stdout, 'routed\nuser\n')
		const events = []
		const h = await sbx.files.watchDir('/home/user/route', (e) => events.push(e), rto)
		await sbx.files.write('/home/user/route/w.txt', 'w', rto)
		await waitFor(() => events.some((e) => e.name === 'w.txt' && e.type === FilesystemEventType.CREATE), { what: 'watch event via prefix' })
		await h.stop()
		let out = ''
		const dec = new TextDecoder()
		const p = await sbx.pty.create({ cols: 80, rows: 24, onData: (b) => { out += dec.decode(b, { stream: true }) }, timeoutMs: 0, ...rto })
		await sbx.pty.sendInput(p.pid, new TextEncoder().encode('echo p-$((3*3))\n'), rto)
		await waitFor(() => out.includes('p-9'), { what: 'pty output via prefix' })
		await sbx.pty.kill(p.pid, rto)
		await within(p.wait().catch(() => {}), 10_000, 'pty end')
		// The same files are seen through header routing.
		assert.equal(await base.files.read('/home/user/route/w.txt', rto), 'w')
	} finally {
		await killSandbox(base)
	}
})
