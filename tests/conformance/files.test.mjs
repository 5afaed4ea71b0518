// SPDX-License-Identifier: MIT
// Filesystem through the official SDK: read/write of text, binary, empty and
// 50 MiB files, odd names, list depth, stat fields, makeDir/rename/remove
// semantics, not-found errors, metadata, and signed upload/download URLs.
// Where it matters, the process view (a shell in the sandbox) is checked
// against the file-API view.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FileNotFoundError, NotFoundError, FileType, InvalidArgumentError } from 'e2b'
import {
	REQUEST_TIMEOUT_MS, sharedSandbox, envdVersion, versionAtLeast, envdFetch,
	sha256, randomData, uniq, rejectsWith,
} from './lib.mjs'

const T = { timeout: 60_000 }
const rto = { requestTimeoutMs: REQUEST_TIMEOUT_MS }
const sandbox = sharedSandbox()
const HOME = '/home/user'

async function sh(sbx, cmd, opts = {}) {
	return (await sbx.commands.run(cmd, { ...rto, ...opts })).stdout
}

test('files: write and read text; relative paths resolve to the home dir', T, async () => {
	const sbx = await sandbox()
	const text = 'hello\nworld ünïcødé ✓\n'
	const info = await sbx.files.write(`${HOME}/hello.txt`, text, rto)
	assert.equal(info.path, `${HOME}/hello.txt`)
	assert.equal(info.name, 'hello.txt')
	assert.equal(info.type, FileType.FILE)
	assert.equal(await sbx.files.read(`${HOME}/hello.txt`, rto), text)
	assert.equal(await sh(sbx, `cat ${HOME}/hello.txt`), text, 'process sees what /files wrote')
	await sbx.commands.run(`printf 'from shell' > ${HOME}/shell.txt`, rto)
	assert.equal(await sbx.files.read(`${HOME}/shell.txt`, rto), 'from shell', '/files sees what a process wrote')
	const rel = await sbx.files.write('rel/dir/r.txt', 'rel', rto)
	assert.equal(rel.path, `${HOME}/rel/dir/r.txt`, 'relative path joins the home dir and parents are created')
	assert.equal(await sbx.files.read(`${HOME}/rel/dir/r.txt`, rto), 'rel')
	assert.equal((await sbx.files.getInfo('rel/dir/r.txt', rto)).path, `${HOME}/rel/dir/r.txt`)
	// Overwrite truncates.
	await sbx.files.write(`${HOME}/hello.txt`, 'short', rto)
	assert.equal(await sbx.files.read(`${HOME}/hello.txt`, rto), 'short')
	assert.equal((await sbx.files.getInfo(`${HOME}/hello.txt`, rto)).size, 5)
})

test('files: binary data with all 256 byte values round-trips', T, async () => {
	const sbx = await sandbox()
	const data = new Uint8Array(256 * 64)
	for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 8)) & 0xff
	const p = `${HOME}/bin.dat`
	await sbx.files.write(p, data, rto)
	const back = await sbx.files.read(p, { format: 'bytes', ...rto })
	assert.ok(back instanceof Uint8Array)
	assert.equal(back.length, data.length)
	assert.equal(Buffer.compare(Buffer.from(back), Buffer.from(data)), 0, 'bytes identical')
	assert.equal((await sh(sbx, `sha256sum ${p}`)).split(' ')[0], sha256(data), 'sha256 inside the sandbox')
	const blob = await sbx.files.read(p, { format: 'blob', ...rto })
	assert.equal(sha256(Buffer.from(await blob.arrayBuffer())), sha256(data), 'blob format')
})

test('files: empty file', T, async () => {
	const sbx = await sandbox()
	const p = `${HOME}/empty.txt`
	const info = await sbx.files.write(p, '', rto)
	assert.equal(info.path, p)
	assert.equal(await sbx.files.read(p, rto), '')
	const bytes = await sbx.files.read(p, { format: 'bytes', ...rto })
	assert.equal(bytes.length, 0)
	const st = await sbx.files.getInfo(p, rto)
	assert.equal(st.size, 0, 'size 0 (omitted on the wire) maps to 0')
	assert.equal(st.type, FileType.FILE)
	assert.equal((await sh(sbx, `stat -c %s ${p}`)).trim(), '0')
})

test('files: 50 MiB round trip (multipart and stream read) compared by sha256', { timeout: 110_000 }, async () => {
	const sbx = await sandbox()
	const data = randomData(50 * 1024 * 1024)
	const sum = sha256(data)
	const p = `${HOME}/big.bin`
	await sbx.files.write(p, data, { requestTimeoutMs: 90_000 })
	assert.equal((await sbx.files.getInfo(p, rto)).size, data.length)
	assert.equal((await sh(sbx, `sha256sum ${p}`)).split(' ')[0], sum, 'sha256 inside the sandbox')
	const back = await sbx.files.read(p, { format: 'bytes', requestTimeoutMs: 90_000 })
	assert.equal(back.length, data.length)
	assert.equal(sha256(back), sum, 'sha256 of the download')
	const stream = await sbx.files.read(p, { format: 'stream', requestTimeoutMs: 90_000 })
	const h = (await import('node:crypto')).createHash('sha256')
	let n = 0
	for await (const chunk of stream) {
		h.update(chunk)
		n += chunk.length
	}
	assert.equal(n, data.length)
	assert.equal(h.digest('hex'), sum, 'sha256 of the streamed download')
})

test('files: octet-stream upload (envd >= 0.5.7)', { timeout: 60_000 }, async (t) => {
	const sbx = await sandbox()
	if (!versionAtLeast(envdVersion(sbx), '0.5.7')) return t.skip(`envd ${envdVersion(sbx)} has no octet-stream upload`)
	const data = randomData(3 * 1024 * 1024 + 17)
	const p = `${HOME}/octet/o.bin`
	const info = await sbx.files.write(p, data, { useOctetStream: true, ...rto })
	assert.equal(info.path, p)
	assert.equal(sha256(await sbx.files.read(p, { format: 'bytes', ...rto })), sha256(data))
	const stream = new ReadableStream({
		start(c) {
			for (let i = 0; i < 64; i++) c.enqueue(new TextEncoder().encode(`chunk ${i}\n`))
			c.close()
		},
	})
	const si = await sbx.files.write(`${HOME}/octet/s.txt`, stream, rto)
	assert.equal(si.path, `${HOME}/octet/s.txt`)
	const want = Array.from({ length: 64 }, (_, i) => `chunk ${i}\n`).join('')
	assert.equal(await sbx.files.read(`${HOME}/octet/s.txt`, rto), want, 'streamed (chunked) upload')
})

test('files: gzip-compressed upload (envd >= 0.5.7)', T, async (t) => {
	const sbx = await sandbox()
	if (!versionAtLeast(envdVersion(sbx), '0.5.7')) return t.skip(`envd ${envdVersion(sbx)} has no octet-stream upload`)
	const text = 'gzipped upload\n'.repeat(1000)
	const gz = await sbx.files.write(`${HOME}/octet/g.txt`, text, { gzip: true, ...rto })
	assert.equal(gz.path, `${HOME}/octet/g.txt`)
	assert.equal(await sbx.files.read(`${HOME}/octet/g.txt`, rto), text, 'Content-Encoding: gzip upload is stored decompressed')
})

test('files: gzip download is decoded', T, async () => {
	const sbx = await sandbox()
	const text = 'compress me '.repeat(5000)
	await sbx.files.write(`${HOME}/gz.txt`, text, rto)
	assert.equal(await sbx.files.read(`${HOME}/gz.txt`, { gzip: true, ...rto }), text)
})

test('files: odd names (spaces, unicode, %, #, ?, &, +, =, quotes) round-trip', T, async () => {
	const sbx = await sandbox()
	const dir = `${HOME}/odd`
	const names = ['with space.txt', 'ünïcødé-文件.txt', 'per%cent%20.txt', 'hash#tag.txt', 'question?.txt', 'a+b=c&d.txt', "quo'te\".txt", 'semi;colon', '..dots..']
	for (const [i, n] of names.entries()) {
		const w = await sbx.files.write(`${dir}/${n}`, `content ${i}`, rto)
		assert.equal(w.path, `${dir}/${n}`, `write path of '${n}'`)
		assert.equal(await sbx.files.read(`${dir}/${n}`, rto), `content ${i}`, `read of '${n}'`)
		assert.equal(await sbx.files.exists(`${dir}/${n}`, rto), true)
		assert.equal((await sbx.files.getInfo(`${dir}/${n}`, rto)).name, n)
	}
	const listed = (await sbx.files.list(dir, rto)).map((e) => e.name).sort()
	assert.deepEqual(listed, [...names].sort(), 'list shows the exact names')
	const fromShell = (await sh(sbx, `find ${dir} -mindepth 1 -maxdepth 1 -printf '%f\\n'`)).split('\n').filter(Boolean).sort()
	assert.deepEqual(fromShell, [...names].sort(), 'the shell sees the exact names')
	// A name that only differs by %-encoding is a different file.
	assert.equal(await sbx.files.exists(`${dir}/with%20space.txt`, rto), false)
})

test('files: list with depth', T, async () => {
	const sbx = await sandbox()
	const root = `${HOME}/tree`
	await sbx.files.write(`${root}/a/b/c.txt`, 'c', rto)
	await sbx.files.write(`${root}/x.txt`, 'x', rto)
	const d1 = await sbx.files.list(root, rto)
	assert.deepEqual(d1.map((e) => e.name).sort(), ['a', 'x.txt'])
	const a = d1.find((e) => e.name === 'a')
	assert.equal(a.type, FileType.DIR)
	assert.equal(a.path, `${root}/a`)
	const x = d1.find((e) => e.name === 'x.txt')
	assert.equal(x.type, FileType.FILE)
	assert.equal(x.size, 1)
	const d3 = await sbx.files.list(root, { depth: 3, ...rto })
	assert.deepEqual(d3.map((e) => e.path).sort(), [`${root}/a`, `${root}/a/b`, `${root}/a/b/c.txt`, `${root}/x.txt`])
	const d2 = await sbx.files.list(root, { depth: 2, ...rto })
	assert.deepEqual(d2.map((e) => e.path).sort(), [`${root}/a`, `${root}/a/b`, `${root}/x.txt`])
	await rejectsWith(sbx.files.list(`${root}/nope`, rto), NotFoundError, 'list of a missing dir')
})

test('files: exists and getInfo fields', T, async () => {
	const sbx = await sandbox()
	const p = `${HOME}/info.txt`
	const t0 = Date.now()
	await sbx.files.write(p, '12345678', rto)
	assert.equal(await sbx.files.exists(p, rto), true)
	assert.equal(await sbx.files.exists(`${HOME}/nope-${uniq()}`, rto), false)
	const st = await sbx.files.getInfo(p, rto)
	assert.equal(st.name, 'info.txt')
	assert.equal(st.path, p)
	assert.equal(st.type, FileType.FILE)
	assert.equal(st.size, 8)
	assert.equal(st.mode, 0o644, `mode ${st.mode?.toString(8)} is permission bits only`)
	assert.equal(st.permissions, '-rw-r--r--')
	assert.equal(st.owner, 'user')
	assert.equal(st.group, 'user')
	assert.ok(st.modifiedTime instanceof Date)
	assert.ok(Math.abs(st.modifiedTime.getTime() - t0) < 60_000, 'mtime is about now')
	await sbx.commands.run(`chmod 751 ${p}`, rto)
	const st2 = await sbx.files.getInfo(p, rto)
	assert.equal(st2.mode, 0o751)
	assert.equal(st2.permissions, '-rwxr-x--x')
	const d = await sbx.files.getInfo(HOME, rto)
	assert.equal(d.type, FileType.DIR)
	assert.equal(d.name, 'user')
	assert.ok(d.permissions.startsWith('d'), `dir permissions ${d.permissions}`)
	assert.equal(d.owner, 'user')
	// Files written as root are owned by root.
	const r = await sbx.files.write('/tmp/rootfile', 'r', { user: 'root', ...rto })
	assert.equal(r.path, '/tmp/rootfile')
	assert.equal((await sbx.files.getInfo('/tmp/rootfile', rto)).owner, 'root')
	assert.equal((await sh(sbx, 'stat -c %U /tmp/rootfile')).trim(), 'root')
	// Relative paths for root resolve under /root.
	const rr = await sbx.files.write('rootrel.txt', 'x', { user: 'root', ...rto })
	assert.equal(rr.path, '/root/rootrel.txt')
})

test('files: symlinks report the target type and resolved target', T, async () => {
	const sbx = await sandbox()
	await sbx.files.write(`${HOME}/lt/target.txt`, 'target', rto)
	await sbx.commands.run(`cd ${HOME}/lt && ln -s target.txt flink && ln -s /usr dlink && ln -s missing broken`, rto)
	const f = await sbx.files.getInfo(`${HOME}/lt/flink`, rto)
	assert.equal(f.type, FileType.FILE)
	assert.equal(f.symlinkTarget, `${HOME}/lt/target.txt`)
	const d = await sbx.files.getInfo(`${HOME}/lt/dlink`, rto)
	assert.equal(d.type, FileType.DIR)
	assert.equal(d.symlinkTarget, '/usr')
	assert.equal(await sbx.files.read(`${HOME}/lt/flink`, rto), 'target', 'read follows the link')
	const names = (await sbx.files.list(`${HOME}/lt`, rto)).map((e) => e.name).sort()
	assert.deepEqual(names, ['dlink', 'flink', 'target.txt'], 'a broken link (type unspecified) is dropped by the SDK')
})

test('files: makeDir creates parents, then reports false for an existing dir', T, async () => {
	const sbx = await sandbox()
	const p = `${HOME}/mk/p/q/r`
	assert.equal(await sbx.files.makeDir(p, rto), true)
	assert.equal(await sbx.files.makeDir(p, rto), false)
	assert.equal((await sbx.files.getInfo(`${HOME}/mk/p`, rto)).type, FileType.DIR)
	assert.equal((await sbx.files.getInfo(p, rto)).owner, 'user', 'created dirs are chowned to the user')
	assert.equal((await sh(sbx, `test -d ${p} && echo yes`)).trim(), 'yes')
})

test('files: rename moves, overwrites, and creates destination parents', T, async () => {
	const sbx = await sandbox()
	await sbx.files.write(`${HOME}/mv/src.txt`, 'moving', rto)
	const e = await sbx.files.rename(`${HOME}/mv/src.txt`, `${HOME}/mv/new/deeper/dst.txt`, rto)
	assert.equal(e.path, `${HOME}/mv/new/deeper/dst.txt`)
	assert.equal(e.name, 'dst.txt')
	assert.equal(e.type, FileType.FILE)
	assert.equal(await sbx.files.exists(`${HOME}/mv/src.txt`, rto), false)
	assert.equal(await sbx.files.read(`${HOME}/mv/new/deeper/dst.txt`, rto), 'moving')
	await sbx.files.write(`${HOME}/mv/other.txt`, 'other', rto)
	await sbx.files.rename(`${HOME}/mv/other.txt`, `${HOME}/mv/new/deeper/dst.txt`, rto)
	assert.equal(await sbx.files.read(`${HOME}/mv/new/deeper/dst.txt`, rto), 'other', 'rename overwrites a file')
	await sbx.files.rename(`${HOME}/mv/new`, `${HOME}/mv/renamed-dir`, rto)
	assert.equal(await sbx.files.read(`${HOME}/mv/renamed-dir/deeper/dst.txt`, rto), 'other', 'directories rename too')
	await rejectsWith(sbx.files.rename(`${HOME}/mv/missing`, `${HOME}/mv/x`, rto), NotFoundError, 'rename of a missing source')
})

test('files: remove is recursive and idempotent', T, async () => {
	const sbx = await sandbox()
	await sbx.files.write(`${HOME}/rm/a/b/c.txt`, 'c', rto)
	await sbx.files.write(`${HOME}/rm/f.txt`, 'f', rto)
	await sbx.files.remove(`${HOME}/rm/f.txt`, rto)
	assert.equal(await sbx.files.exists(`${HOME}/rm/f.txt`, rto), false)
	await sbx.files.remove(`${HOME}/rm`, rto)
	assert.equal(await sbx.files.exists(`${HOME}/rm`, rto), false, 'non-empty dir removed')
	assert.equal((await sh(sbx, `test -e ${HOME}/rm || echo gone`)).trim(), 'gone')
	await sbx.files.remove(`${HOME}/rm/never-existed`, rto) // must not throw
})

test('files: missing paths give FileNotFoundError', T, async () => {
	const sbx = await sandbox()
	const p = `${HOME}/missing-${uniq()}.txt`
	await rejectsWith(sbx.files.read(p, rto), FileNotFoundError, 'read')
	await rejectsWith(sbx.files.read(p, { format: 'bytes', ...rto }), FileNotFoundError, 'read bytes')
	await rejectsWith(sbx.files.getInfo(p, rto), FileNotFoundError, 'getInfo')
	const res = await envdFetch(sbx, `/files?path=${encodeURIComponent(p)}`)
	assert.equal(res.status, 404)
	const body = await res.json()
	assert.equal(body.code, 404, 'envd /files error has integer code')
	assert.equal(typeof body.message, 'string')
})

test('files: writeFiles writes several files at once', T, async () => {
	const sbx = await sandbox()
	const out = await sbx.files.write([
		{ path: `${HOME}/multi/one.txt`, data: 'one' },
		{ path: `${HOME}/multi/two.txt`, data: new Uint8Array([0, 1, 2]) },
	], rto)
	assert.ok(Array.isArray(out))
	assert.deepEqual(out.map((e) => e.path).sort(), [`${HOME}/multi/one.txt`, `${HOME}/multi/two.txt`])
	assert.equal(await sbx.files.read(`${HOME}/multi/one.txt`, rto), 'one')
	assert.deepEqual([...await sbx.files.read(`${HOME}/multi/two.txt`, { format: 'bytes', ...rto })], [0, 1, 2])
})

test('files: write with metadata (envd >= 0.6.2)', T, async (t) => {
	const sbx = await sandbox()
	if (!versionAtLeast(envdVersion(sbx), '0.6.2')) return t.skip(`envd ${envdVersion(sbx)} has no file metadata`)
	const p = `${HOME}/meta.txt`
	const w = await sbx.files.write(p, 'm', { metadata: { owner: 'conformance', kind: 'test' }, ...rto })
	assert.deepEqual(w.metadata, { owner: 'conformance', kind: 'test' })
	assert.deepEqual((await sbx.files.getInfo(p, rto)).metadata, { owner: 'conformance', kind: 'test' })
	await sbx.files.write(p, 'm2', { metadata: { only: 'this' }, ...rto })
	assert.deepEqual((await sbx.files.getInfo(p, rto)).metadata, { only: 'this' }, 'an upload replaces the metadata set')
})

test('files: signed uploadUrl/downloadUrl work without the access token', T, async () => {
	const sbx = await sandbox()
	assert.ok(sbx.envdAccessToken, 'sandbox is secured')
	const p = `${HOME}/signed/${uniq('s')}.txt`
	const routing = { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '49983' }
	const up = await sbx.uploadUrl(p)
	assert.match(up, /signature=v1_/)
	const form = new FormData()
	form.append('file', new Blob(['signed upload']), p)
	let res = await fetch(up, { method: 'POST', body: form, headers: routing, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
	assert.equal(res.status, 200, `signed upload: ${res.status}`)
	const written = await res.json()
	assert.equal(written[0].path, p)
	const down = await sbx.downloadUrl(p)
	res = await fetch(down, { headers: routing, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
	assert.equal(res.status, 200)
	assert.equal(await res.text(), 'signed upload')
	// With an expiration in the future it still works; in the past it fails.
	res = await fetch(await sbx.downloadUrl(p, { useSignatureExpiration: 120 }), { headers: routing, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
	assert.equal(res.status, 200, 'unexpired signature')
	await res.body?.cancel()
	res = await fetch(await sbx.downloadUrl(p, { useSignatureExpiration: -60 }), { headers: routing, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
	assert.equal(res.status, 401, 'expired signature')
	await res.body?.cancel()
	// A signature for one path does not open another; a read signature does not write.
	const u = new URL(down)
	u.searchParams.set('path', `${HOME}/signed/other.txt`)
	res = await fetch(u, { headers: routing, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
	assert.equal(res.status, 401, 'signature bound to the path')
	await res.body?.cancel()
	const f2 = new FormData()
	f2.append('file', new Blob(['evil']), p)
	res = await fetch(down, { method: 'POST', body: f2, headers: routing, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
	assert.equal(res.status, 401, 'read signature cannot write')
	await res.body?.cancel()
	assert.equal(await sbx.files.read(p, rto), 'signed upload')
})

test('files: GET /files honours Range (206) and reports errors as envd JSON', T, async () => {
	const sbx = await sandbox()
	const p = `${HOME}/range.txt`
	await sbx.files.write(p, 'hello range', rto)
	const q = `/files?path=${encodeURIComponent(p)}`
	let res = await envdFetch(sbx, q, { headers: { Range: 'bytes=1-3', 'Accept-Encoding': 'identity' } })
	assert.equal(res.status, 206)
	assert.equal(res.headers.get('content-range'), 'bytes 1-3/11')
	assert.equal(await res.text(), 'ell')
	res = await envdFetch(sbx, q, { headers: { Range: 'bytes=6-', 'Accept-Encoding': 'identity' } })
	assert.equal(res.status, 206)
	assert.equal(await res.text(), 'range')
	res = await envdFetch(sbx, q, { headers: { 'Accept-Encoding': 'identity' } })
	assert.equal(res.status, 200)
	assert.equal(res.headers.get('content-length'), '11')
	assert.equal(await res.text(), 'hello range')
	res = await envdFetch(sbx, `/files?path=${encodeURIComponent(HOME)}`)
	assert.equal(res.status, 400, 'GET /files of a directory')
	const body = await res.json()
	assert.equal(body.code, 400)
})

test('files: a path under a regular file fails cleanly', T, async () => {
	const sbx = await sandbox()
	await sbx.files.write(`${HOME}/afile`, 'x', rto)
	await assert.rejects(sbx.files.write(`${HOME}/afile/child.txt`, 'y', rto), (e) => e instanceof Error && !(e instanceof FileNotFoundError), 'write below a file')
	await assert.rejects(sbx.files.makeDir(`${HOME}/afile`, rto), /not a directory|exists/i, 'makeDir over a file')
	assert.equal(await sbx.files.read(`${HOME}/afile`, rto), 'x', 'the file is untouched')
})

test('files: wrong kinds of paths give InvalidArgumentError', T, async () => {
	const sbx = await sandbox()
	await sbx.files.write(`${HOME}/kind.txt`, 'k', rto)
	await rejectsWith(sbx.files.read(HOME, rto), InvalidArgumentError, 'read of a directory')
	await rejectsWith(sbx.files.write(`${HOME}/`, 'x', rto), InvalidArgumentError, 'write to a directory')
	await rejectsWith(sbx.files.list(`${HOME}/kind.txt`, rto), InvalidArgumentError, 'list of a file')
	await rejectsWith(sbx.files.list(HOME, { depth: 0, ...rto }), InvalidArgumentError, 'depth 0 (refused by the SDK)')
})

test('files: 20 MiB streamed (chunked, octet-stream) upload (envd >= 0.5.7)', { timeout: 90_000 }, async (t) => {
	const sbx = await sandbox()
	if (!versionAtLeast(envdVersion(sbx), '0.5.7')) return t.skip(`envd ${envdVersion(sbx)} has no octet-stream upload`)
	const chunk = 256 * 1024
	const total = 80
	const h = (await import('node:crypto')).createHash('sha256')
	let i = 0
	const stream = new ReadableStream({
		pull(c) {
			if (i === total) return c.close()
			const b = randomData(chunk)
			h.update(b)
			c.enqueue(b)
			i++
		},
	})
	const p = `${HOME}/streamed.bin`
	const info = await sbx.files.write(p, stream, { requestTimeoutMs: 60_000 })
	assert.equal(info.path, p)
	const sum = h.digest('hex')
	assert.equal((await sbx.files.getInfo(p, rto)).size, chunk * total)
	assert.equal((await sh(sbx, `sha256sum ${p}`)).split(' ')[0], sum, 'sha256 inside the sandbox')
})

test('files: overwrite happens in place like envd (same inode, hard links, mode)', T, async () => {
	const sbx = await sandbox()
	const p = `${HOME}/inplace/a.txt`
	await sbx.files.write(p, 'version one', rto)
	await sbx.commands.run(`cd ${HOME}/inplace && ln a.txt hard.txt && chmod 750 a.txt`, rto)
	const ino1 = (await sh(sbx, `stat -c %i ${p}`)).trim()
	await sbx.files.write(p, 'version two', rto)
	const ino2 = (await sh(sbx, `stat -c %i ${p}`)).trim()
	assert.equal(ino2, ino1, 'envd opens the existing file with O_TRUNC: the inode stays')
	assert.equal(await sbx.files.read(`${HOME}/inplace/hard.txt`, rto), 'version two', 'a hard link sees the new content')
	assert.equal((await sbx.files.getInfo(p, rto)).mode, 0o750, 'mode of an overwritten file is kept')
})

test('files: ~ expands to the user\'s home; ~user is refused', T, async () => {
	const sbx = await sandbox()
	const w = await sbx.files.write('~/tilde/t.txt', 'tilde', rto)
	assert.equal(w.path, `${HOME}/tilde/t.txt`)
	assert.equal(await sbx.files.read('~/tilde/t.txt', rto), 'tilde')
	assert.equal((await sbx.files.getInfo('~', rto)).path, HOME)
	assert.deepEqual((await sbx.files.list('~/tilde', rto)).map((e) => e.path), [`${HOME}/tilde/t.txt`])
	assert.equal((await sbx.files.getInfo('~', { user: 'root', ...rto })).path, '/root')
	assert.equal((await sbx.commands.run('pwd', { cwd: '~/tilde', ...rto })).stdout, `${HOME}/tilde\n`)
	await rejectsWith(sbx.files.getInfo('~root/x', rto), InvalidArgumentError, 'Stat of ~root/x')
	await rejectsWith(sbx.files.read('~root/x', rto), InvalidArgumentError, 'GET /files of ~root/x')
})
