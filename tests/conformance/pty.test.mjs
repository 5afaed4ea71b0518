// SPDX-License-Identifier: MIT
// Pseudo-terminals through the official SDK: create, input, output, resize,
// Ctrl-C, exit code, reconnect, kill.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CommandExitError } from 'e2b'
import { REQUEST_TIMEOUT_MS, sharedSandbox, waitFor, within } from './lib.mjs'

const T = { timeout: 60_000 }
const rto = { requestTimeoutMs: REQUEST_TIMEOUT_MS }
const sandbox = sharedSandbox()
const enc = new TextEncoder()

async function openPty(sbx, opts = {}) {
	const dec = new TextDecoder()
	const st = { out: '' }
	const h = await sbx.pty.create({ cols: 80, rows: 24, onData: (d) => { st.out += dec.decode(d, { stream: true }) }, timeoutMs: 0, ...rto, ...opts })
	st.h = h
	st.send = (s) => sbx.pty.sendInput(h.pid, enc.encode(s), rto)
	st.expect = (re, what) => waitFor(() => re.test(st.out), { timeoutMs: 10_000, what: `${what} in pty output ${JSON.stringify(st.out.slice(-300))}` })
	return st
}

test('pty: create, send "echo", output arrives; it is a real terminal', T, async () => {
	const sbx = await sandbox()
	const p = await openPty(sbx)
	assert.ok(p.h.pid > 0)
	await p.send('echo hi-$((40+2))\n')
	await p.expect(/hi-42/, 'the echoed result')
	await p.send('tty; echo TERM=$TERM; id -u\n')
	await p.expect(/\/dev\/pts\/\d+/, 'a pts device')
	await p.expect(/TERM=xterm-256color/, 'TERM from the SDK')
	await p.expect(/\r?\n1000\r?\n/, 'the default user')
	assert.equal(await sbx.pty.kill(p.h.pid, rto), true)
	await within(p.h.wait().catch(() => {}), 10_000, 'pty to end after kill')
})

test('pty: resize changes the window size', T, async () => {
	const sbx = await sandbox()
	const p = await openPty(sbx)
	await p.send('stty size\n')
	await p.expect(/\b24 80\b/, 'initial size 24x80')
	await sbx.pty.resize(p.h.pid, { cols: 132, rows: 41 }, rto)
	await p.send('stty size\n')
	await p.expect(/\b41 132\b/, 'resized 41x132')
	await sbx.pty.kill(p.h.pid, rto)
	await within(p.h.wait().catch(() => {}), 10_000, 'pty to end')
})

test('pty: Ctrl-C interrupts the foreground command', T, async () => {
	const sbx = await sandbox()
	const p = await openPty(sbx)
	await p.send('sleep 100; echo not-$((1+1))-interrupted\n')
	await new Promise((r) => setTimeout(r, 500))
	await p.send('\x03')
	await p.send('echo after-$((6*7))\n')
	await p.expect(/after-42/, 'prompt back after ^C')
	assert.ok(!p.out.includes('not-2-interrupted'), 'the rest of the interrupted line did not run')
	await sbx.pty.kill(p.h.pid, rto)
	await within(p.h.wait().catch(() => {}), 10_000, 'pty to end')
})

test('pty: exit status of the shell is reported', T, async () => {
	const sbx = await sandbox()
	const p = await openPty(sbx)
	await p.send('exit 7\n')
	const err = await within(p.h.wait().then(() => null, (e) => e), 10_000, 'pty shell to exit')
	assert.ok(err instanceof CommandExitError, `exit 7 gives CommandExitError (${err})`)
	assert.equal(err.exitCode, 7)
})

test('pty: disconnect and reconnect, input still works', T, async () => {
	const sbx = await sandbox()
	const p = await openPty(sbx)
	await p.send('echo one-$((1+1))\n')
	await p.expect(/one-2/, 'first output')
	await p.h.disconnect()
	const dec = new TextDecoder()
	let out = ''
	const c = await sbx.pty.connect(p.h.pid, { onData: (d) => { out += dec.decode(d, { stream: true }) }, timeoutMs: 0, ...rto })
	assert.equal(c.pid, p.h.pid)
	await sbx.pty.sendInput(p.h.pid, enc.encode('echo two-$((1+2))\n'), rto)
	await waitFor(() => /two-3/.test(out), { timeoutMs: 10_000, what: `output after reconnect ${JSON.stringify(out.slice(-200))}` })
	const listed = await sbx.commands.list(rto)
	const me = listed.find((x) => x.pid === p.h.pid)
	assert.ok(me, 'pty session is listed')
	assert.deepEqual(me.args, ['-i', '-l'])
	assert.equal(await sbx.pty.kill(p.h.pid, rto), true)
	await within(c.wait().catch(() => {}), 10_000, 'pty to end')
	await waitFor(async () => !(await sbx.commands.list(rto)).some((x) => x.pid === p.h.pid), { timeoutMs: 5_000, what: 'killed pty to leave the list' })
	assert.equal(await sbx.pty.kill(4_000_000, rto), false, 'kill of an unknown pid')
})

test('pty: cwd, envs and user options', T, async () => {
	const sbx = await sandbox()
	const p = await openPty(sbx, { cwd: '/tmp', envs: { PTY_VAR: 'pty-value' } })
	await p.send('echo "cwd=$(pwd) var=$PTY_VAR"\n')
	await p.expect(/cwd=\/tmp var=pty-value/, 'cwd and env')
	await sbx.pty.kill(p.h.pid, rto)
	await within(p.h.wait().catch(() => {}), 10_000, 'pty to end')
	const q = await openPty(sbx, { user: 'root' })
	await q.send('echo "uid=$(id -u)"\n')
	await q.expect(/uid=0/, 'root pty')
	await sbx.pty.kill(q.h.pid, rto)
	await within(q.h.wait().catch(() => {}), 10_000, 'pty to end')
})
