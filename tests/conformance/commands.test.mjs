// SPDX-License-Identifier: MIT
// Processes through the official SDK (Process Start/Connect streams and the
// unary control RPCs): output, exit codes, streaming, envs, cwd, users,
// background commands, connect, stdin, kill, list, timeouts, large output.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
	CommandExitError, InvalidArgumentError, AuthenticationError, TimeoutError, SandboxError, NotFoundError,
} from 'e2b'
import {
	REQUEST_TIMEOUT_MS, sharedSandbox, envdVersion, versionAtLeast, waitFor, within, sleep, sha256, envdFetch,
	rejectsWith,
} from './lib.mjs'

const T = { timeout: 60_000 }
const rto = { requestTimeoutMs: REQUEST_TIMEOUT_MS }
const sandbox = sharedSandbox()

test('commands: run captures stdout, stderr and exit code 0', T, async () => {
	const sbx = await sandbox()
	const r = await sbx.commands.run('echo hello; echo oops >&2; printf "héllo 世界"', rto)
	assert.equal(r.exitCode, 0)
	assert.equal(r.stdout, 'hello\nhéllo 世界')
	assert.equal(r.stderr, 'oops\n')
	assert.equal(r.error, undefined)
})

test('commands: non-zero exit raises CommandExitError with the output', T, async () => {
	const sbx = await sandbox()
	const err = await rejectsWith(sbx.commands.run('echo before; echo bad >&2; exit 3', rto), CommandExitError, 'exit 3')
	assert.equal(err.exitCode, 3)
	assert.equal(err.stdout, 'before\n')
	assert.equal(err.stderr, 'bad\n')
	assert.match(err.error ?? '', /exit status 3/)
	const killed = await rejectsWith(sbx.commands.run('kill -9 $$', rto), CommandExitError, 'killed by a signal')
	assert.equal(killed.exitCode, -1, 'death by signal reports exitCode -1')
	assert.match(killed.error ?? '', /signal: killed/)
})

test('commands: onStdout/onStderr stream output in order as it is produced', T, async () => {
	const sbx = await sandbox()
	const chunks = []
	const times = []
	const t0 = Date.now()
	const r = await sbx.commands.run('echo first; sleep 1.5; echo second; for i in $(seq 1 200); do echo line$i; done; echo e1 >&2', {
		onStdout: (d) => { chunks.push(d); times.push(Date.now() - t0) },
		onStderr: (d) => { chunks.push(`ERR:${d}`) },
		...rto,
	})
	const out = chunks.filter((c) => !c.startsWith('ERR:')).join('')
	const lines = Array.from({ length: 200 }, (_, i) => `line${i + 1}\n`).join('')
	assert.equal(out, `first\nsecond\n${lines}`, 'stdout callbacks joined equal the output, in order')
	assert.equal(r.stdout, out)
	assert.equal(chunks.filter((c) => c.startsWith('ERR:')).join(''), 'ERR:e1\n', 'stderr callback')
	assert.equal(r.stderr, 'e1\n')
	const firstAt = times[chunks.findIndex((c) => c.includes('first'))]
	const secondAt = times[chunks.findIndex((c) => c.includes('second'))]
	assert.ok(secondAt - firstAt >= 1000, `'first' arrived ${secondAt - firstAt} ms before 'second' (streamed, not buffered)`)
})

test('commands: envs and cwd', T, async () => {
	const sbx = await sandbox()
	let r = await sbx.commands.run('printf "%s|%s" "$A" "$B"', { envs: { A: '1', B: 'two words' }, ...rto })
	assert.equal(r.stdout, '1|two words')
	r = await sbx.commands.run('pwd', { cwd: '/tmp', ...rto })
	assert.equal(r.stdout, '/tmp\n')
	r = await sbx.commands.run('pwd', rto)
	assert.equal(r.stdout, '/home/user\n', 'default cwd is the home dir')
	await sbx.files.makeDir('/home/user/cwd-rel', rto)
	r = await sbx.commands.run('pwd', { cwd: 'cwd-rel', ...rto })
	assert.equal(r.stdout, '/home/user/cwd-rel\n', 'relative cwd resolves against home')
	await rejectsWith(sbx.commands.run('pwd', { cwd: '/no/such/dir', ...rto }), InvalidArgumentError, 'missing cwd')
	r = await sbx.commands.run('printf "%s %s %s" "$HOME" "$USER" "$LOGNAME"', rto)
	assert.equal(r.stdout, '/home/user user user')
	r = await sbx.commands.run('printf %s "$HOME"', { envs: { HOME: '/override' }, ...rto })
	assert.equal(r.stdout, '/override', 'request envs win over the defaults')
})

test('commands: default user is uid 1000 "user", root on request', T, async () => {
	const sbx = await sandbox()
	assert.equal((await sbx.commands.run('id -u', rto)).stdout, '1000\n')
	assert.equal((await sbx.commands.run('id -un', rto)).stdout, 'user\n')
	assert.equal((await sbx.commands.run('id -u', { user: 'user', ...rto })).stdout, '1000\n')
	assert.equal((await sbx.commands.run('id -u', { user: 'root', ...rto })).stdout, '0\n')
	assert.equal((await sbx.commands.run('pwd', { user: 'root', ...rto })).stdout, '/root\n')
	await rejectsWith(sbx.commands.run('id', { user: 'no-such-user', ...rto }), AuthenticationError, 'unknown user')
	await rejectsWith(sbx.files.read('/etc/hostname', { user: 'no-such-user', ...rto }), AuthenticationError, 'unknown user on /files')
})

test('commands: hostname is the sandbox id and the pid namespace is private', T, async () => {
	const sbx = await sandbox()
	assert.equal((await sbx.commands.run('hostname', rto)).stdout.trim(), sbx.sandboxId)
	const ps = await sbx.commands.run('ls /proc | grep -c "^[0-9]*$"', rto)
	assert.ok(Number(ps.stdout) < 20, `only the sandbox's processes are visible (${ps.stdout.trim()} pids)`)
})

test('commands: background start, wait, and pid', T, async () => {
	const sbx = await sandbox()
	const h = await sbx.commands.run('sleep 1; echo done', { background: true, ...rto })
	assert.ok(Number.isInteger(h.pid) && h.pid > 0, `pid ${h.pid}`)
	const r = await within(h.wait(), 15_000, 'background wait')
	assert.equal(r.stdout, 'done\n')
	assert.equal(r.exitCode, 0)
	const h2 = await sbx.commands.start('exit 5', rto)
	await assert.rejects(h2.wait(), (e) => e instanceof CommandExitError && e.exitCode === 5)
})

test('commands: list shows running commands; kill ends them', T, async () => {
	const sbx = await sandbox()
	const h = await sbx.commands.run('sleep 45', { background: true, envs: { MARK: 'listed' }, cwd: '/tmp', ...rto })
	const procs = await sbx.commands.list(rto)
	const p = procs.find((x) => x.pid === h.pid)
	assert.ok(p, `pid ${h.pid} is listed: ${JSON.stringify(procs)}`)
	assert.equal(p.cmd, '/bin/bash')
	assert.deepEqual(p.args, ['-l', '-c', 'sleep 45'])
	assert.equal(p.envs.MARK, 'listed')
	assert.equal(p.cwd, '/tmp')
	assert.equal(await sbx.commands.kill(h.pid, rto), true)
	const err = await within(h.wait().then(() => null, (e) => e), 10_000, 'wait after kill')
	assert.ok(err instanceof CommandExitError, `killed command ends with CommandExitError (${err})`)
	assert.equal(err.exitCode, -1)
	await waitFor(async () => !(await sbx.commands.list(rto)).some((x) => x.pid === h.pid), { timeoutMs: 5_000, what: 'the killed pid to leave the list' })
	assert.equal(await sbx.commands.kill(4_000_000, rto), false, 'kill of an unknown pid')
})

test('commands: connect to a running process receives further output', T, async () => {
	const sbx = await sandbox()
	const h = await sbx.commands.run('for i in $(seq 1 40); do echo tick$i; sleep 0.2; done', { background: true, ...rto })
	await sleep(600)
	await h.disconnect()
	const seen = []
	const c = await sbx.commands.connect(h.pid, { onStdout: (d) => seen.push(d), ...rto })
	assert.equal(c.pid, h.pid)
	await waitFor(() => seen.join('').includes('tick'), { timeoutMs: 5_000, what: 'output after connect' })
	const first = Number(/tick(\d+)/.exec(seen.join(''))[1])
	assert.ok(first >= 2, `connect gets only new output (first tick seen: ${first})`)
	assert.equal(await c.kill(), true)
	await within(c.wait().catch(() => {}), 10_000, 'wait after kill')
	await rejectsWith(sbx.commands.connect(4_000_000, rto), NotFoundError, 'connect to an unknown pid')
})

test('commands: sendStdin reaches the process; closeStdin gives EOF', T, async (t) => {
	const sbx = await sandbox()
	if (!versionAtLeast(envdVersion(sbx), '0.3.0')) return t.skip(`envd ${envdVersion(sbx)} cannot select stdin`)
	const seen = []
	const h = await sbx.commands.run('cat', { background: true, stdin: true, onStdout: (d) => seen.push(d), ...rto })
	await sbx.commands.sendStdin(h.pid, 'hello stdin\n', rto)
	await waitFor(() => seen.join('') === 'hello stdin\n', { timeoutMs: 5_000, what: 'cat to echo stdin' })
	await h.sendStdin('second\n')
	await waitFor(() => seen.join('') === 'hello stdin\nsecond\n', { timeoutMs: 5_000, what: 'second stdin chunk' })
	if (versionAtLeast(envdVersion(sbx), '0.5.2')) {
		await h.closeStdin()
		const r = await within(h.wait(), 10_000, 'cat to exit after EOF')
		assert.equal(r.stdout, 'hello stdin\nsecond\n')
	} else {
		await h.kill()
	}
	// Without stdin: true the process reads /dev/null and sendStdin fails.
	const r2 = await within(sbx.commands.run('cat; echo eof', rto), 10_000, 'cat without stdin')
	assert.equal(r2.stdout, 'eof\n')
	const h3 = await sbx.commands.run('sleep 10', { background: true, ...rto })
	await assert.rejects(sbx.commands.sendStdin(h3.pid, 'x', rto), SandboxError, 'sendStdin without stdin pipe')
	await h3.kill()
})

test('commands: timeoutMs kills a long command', T, async () => {
	const sbx = await sandbox()
	const marker = `/tmp/timeout-${Date.now()}`
	const t0 = Date.now()
	await rejectsWith(sbx.commands.run(`echo $$ > ${marker}; exec sleep 30`, { timeoutMs: 2_000, ...rto }), TimeoutError, 'timed-out command')
	const took = Date.now() - t0
	assert.ok(took < 10_000, `gave up after ${took} ms`)
	const pid = (await sbx.files.read(marker, rto)).trim()
	let seen = ''
	await waitFor(async () => {
		const r = await sbx.commands.run(`test -d /proc/${pid} && tr '\\0' ' ' < /proc/${pid}/cmdline || echo gone`, rto)
		seen = r.stdout.trim()
		return seen === 'gone' || !seen.includes('sleep')
	}, { timeoutMs: 5_000, what: () => `process ${pid} to be killed at the deadline (still running: '${seen}')` })
})

test('commands: 10 MiB of output arrives intact', { timeout: 90_000 }, async () => {
	const sbx = await sandbox()
	const size = 10 * 1024 * 1024
	const r = await sbx.commands.run(`yes abcdefghijklmnopqrstuvwxyz0123456789 | head -c ${size}`, { requestTimeoutMs: 60_000 })
	assert.equal(r.stdout.length, size)
	const expect = 'abcdefghijklmnopqrstuvwxyz0123456789\n'.repeat(Math.ceil(size / 37)).slice(0, size)
	assert.equal(sha256(r.stdout), sha256(expect), 'content identical')
})

test('commands: concurrent commands do not block each other', T, async () => {
	const sbx = await sandbox()
	const slow = await sbx.commands.run('sleep 20', { background: true, ...rto })
	const t0 = Date.now()
	const rs = await Promise.all(Array.from({ length: 12 }, (_, i) => sbx.commands.run(`echo n${i}`, rto)))
	assert.deepEqual(rs.map((r) => r.stdout), Array.from({ length: 12 }, (_, i) => `n${i}\n`))
	assert.ok(Date.now() - t0 < 15_000, 'a long-running stream does not hold up others')
	await slow.kill()
})

test('commands: connect after a process ended (late connect, version-dependent)', T, async () => {
	const sbx = await sandbox()
	const h = await sbx.commands.run('echo gone-soon', { background: true, ...rto })
	const r = await within(h.wait(), 10_000, 'short command')
	assert.equal(r.stdout, 'gone-soon\n')
	if (versionAtLeast(envdVersion(sbx), '0.6.12')) {
		// envd >= 0.6.12 keeps the end event for 30 s: start + end, no output replay.
		const c = await sbx.commands.connect(h.pid, rto)
		const rr = await within(c.wait(), 10_000, 'late connect')
		assert.equal(rr.exitCode, 0)
		assert.equal(rr.stdout, '', 'no output replay')
	} else {
		await rejectsWith(sbx.commands.connect(h.pid, rto), NotFoundError, 'late connect on envd < 0.6.12')
		assert.equal(await sbx.commands.kill(h.pid, rto), false, 'kill of an ended process')
	}
})

test('commands: files created by processes belong to the running user', T, async () => {
	const sbx = await sandbox()
	await sbx.commands.run('echo u > /home/user/by-user.txt', rto)
	await sbx.commands.run('echo r > /home/user/by-root.txt', { user: 'root', ...rto })
	assert.equal((await sbx.files.getInfo('/home/user/by-user.txt', rto)).owner, 'user')
	assert.equal((await sbx.files.getInfo('/home/user/by-root.txt', rto)).owner, 'root')
	const err = await rejectsWith(sbx.commands.run('echo x > /root/nope.txt', rto), CommandExitError, 'user writing into /root')
	assert.match(err.stderr, /Permission denied/)
})

test('commands: Start stream framing and keepalives on the wire', T, async () => {
	const sbx = await sandbox()
	const json = Buffer.from(JSON.stringify({ process: { cmd: '/bin/bash', args: ['-l', '-c', 'echo out; sleep 2.5; echo err >&2; exit 4'] }, stdin: false }))
	const req = Buffer.alloc(5 + json.length)
	req.writeUInt32BE(json.length, 1)
	json.copy(req, 5)
	const res = await envdFetch(sbx, '/process.Process/Start', {
		method: 'POST', body: req, timeoutMs: 20_000,
		headers: { 'Content-Type': 'application/connect+json', 'Connect-Protocol-Version': '1', 'Keepalive-Ping-Interval': '1' },
	})
	assert.equal(res.status, 200)
	assert.match(res.headers.get('content-type') ?? '', /^application\/connect\+json/)
	const buf = Buffer.from(await res.arrayBuffer())
	const frames = []
	for (let off = 0; off < buf.length;) {
		assert.ok(off + 5 <= buf.length, 'no truncated envelope header')
		const len = buf.readUInt32BE(off + 1)
		assert.ok(off + 5 + len <= buf.length, 'no truncated envelope')
		frames.push({ flags: buf[off], msg: JSON.parse(buf.subarray(off + 5, off + 5 + len).toString('utf8')) })
		off += 5 + len
	}
	const kinds = frames.map((f) => (f.flags & 2 ? 'endstream' : Object.keys(f.msg.event ?? {})[0]))
	assert.equal(kinds[0], 'start', `first frame is start: ${kinds}`)
	assert.ok(frames[0].msg.event.start.pid > 0)
	assert.equal(kinds.at(-1), 'endstream', 'ends with an end-stream envelope')
	assert.deepEqual(frames.at(-1).msg, {}, 'successful end-stream is {}')
	assert.equal(kinds.at(-2), 'end', 'end event precedes end-stream')
	assert.ok(kinds.filter((k) => k === 'keepalive').length >= 1, `keepalive sent during 2.5 s of silence at interval 1 s: ${kinds}`)
	const data = frames.filter((f) => f.msg.event?.data)
	const out = data.map((f) => f.msg.event.data.stdout).filter(Boolean).map((b) => Buffer.from(b, 'base64').toString()).join('')
	const err = data.map((f) => f.msg.event.data.stderr).filter(Boolean).map((b) => Buffer.from(b, 'base64').toString()).join('')
	assert.equal(out, 'out\n')
	assert.equal(err, 'err\n')
	const end = frames.at(-2).msg.event.end
	assert.equal(end.exitCode, 4)
	assert.equal(end.exited, true)
	assert.equal(end.status, 'exit status 4')
	assert.equal(end.error, 'exit status 4')
})

test('commands: raw bytes in output: UTF-8 split across chunks, invalid bytes', T, async () => {
	const sbx = await sandbox()
	const n = 100_000
	const r = await sbx.commands.run(`python3 -c 'import sys; sys.stdout.write("€" * ${n})' 2>/dev/null || awk 'BEGIN { for (i = 0; i < ${n}; i++) printf "\\342\\202\\254" }'`, rto)
	assert.equal(r.stdout.length, n, '300 KB of 3-byte characters decode intact across chunk boundaries')
	assert.ok(/^€+$/.test(r.stdout))
	const bad = await sbx.commands.run("printf 'a\\377\\376b'", rto)
	assert.equal(bad.stdout, 'a\ufffd\ufffdb', 'invalid UTF-8 bytes arrive as bytes (decoded to U+FFFD by the SDK)')
})

test('commands: large command line and many/odd environment variables', T, async () => {
	const sbx = await sandbox()
	const big = 'x'.repeat(100_000)
	let r = await sbx.commands.run(`printf %s ${big} | wc -c`, rto)
	assert.equal(r.stdout.trim(), '100000', '100 KB command line')
	const envs = {}
	for (let i = 0; i < 200; i++) envs[`CONF_V${i}`] = `value-${i}`
	envs.CONF_ODD = 'a=b\nc "d" $e \\ f ✓'
	r = await sbx.commands.run('env | grep -c "^CONF_V"; printf %s "$CONF_ODD"', { envs, ...rto })
	assert.equal(r.stdout, `200\n${envs.CONF_ODD}`)
})

test('commands: several Connect streams to one process all receive its output', T, async () => {
	const sbx = await sandbox()
	const h = await sbx.commands.run('for i in $(seq 1 60); do echo m$i; sleep 0.1; done', { background: true, ...rto })
	const a = []
	const b = []
	const ca = await sbx.commands.connect(h.pid, { onStdout: (d) => a.push(d), ...rto })
	const cb = await sbx.commands.connect(h.pid, { onStdout: (d) => b.push(d), ...rto })
	await waitFor(() => a.join('').includes('m') && b.join('').includes('m') && h.stdout.length > 0, { timeoutMs: 5_000, what: 'output on all three streams' })
	const ra = await within(ca.wait(), 15_000, 'first connect')
	const rb = await within(cb.wait(), 15_000, 'second connect')
	const ro = await within(h.wait(), 15_000, 'original stream')
	for (const r of [ra, rb, ro]) {
		assert.equal(r.exitCode, 0)
		assert.ok(r.stdout.endsWith('m60\n'), 'every stream sees the output through the end')
	}
	assert.equal(ro.stdout, Array.from({ length: 60 }, (_, i) => `m${i + 1}\n`).join(''), 'the starting stream sees everything')
})

test('commands: the SDK git helpers work inside the sandbox', T, async () => {
	const sbx = await sandbox()
	const repo = '/home/user/gitrepo'
	await sbx.git.init(repo, { initialBranch: 'main', ...rto })
	await sbx.git.configureUser('Conformance', 'conf@example.invalid', rto)
	assert.equal(await sbx.git.getConfig('user.name', rto), 'Conformance')
	await sbx.files.write(`${repo}/README.md`, '# hello\n', rto)
	let st = await sbx.git.status(repo, rto)
	assert.equal(st.currentBranch, 'main')
	assert.equal(st.isClean, false, 'an untracked file makes the tree dirty')
	await sbx.git.add(repo, rto)
	await sbx.git.commit(repo, 'first commit', rto)
	st = await sbx.git.status(repo, rto)
	assert.equal(st.isClean, true, 'clean after commit')
	await sbx.git.createBranch(repo, 'feature', rto)
	const br = await sbx.git.branches(repo, rto)
	assert.deepEqual([...br.branches].sort(), ['feature', 'main'])
	assert.equal(br.currentBranch, 'feature', 'createBranch switches to it')
	await sbx.git.checkoutBranch(repo, 'main', rto)
	assert.equal((await sbx.git.branches(repo, rto)).currentBranch, 'main')
	const log = await sbx.commands.run(`git -C ${repo} log --format=%an:%s`, rto)
	assert.equal(log.stdout, 'Conformance:first commit\n')
	await sbx.git.clone(`file://${repo}`, { path: '/home/user/gitclone', ...rto })
	assert.equal(await sbx.files.read('/home/user/gitclone/README.md', rto), '# hello\n')
})
