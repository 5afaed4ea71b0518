// SPDX-License-Identifier: MIT
// Isolation as the SDK sees it: host files outside the template are
// invisible, `..` and symlinks (relative and absolute) cannot reach the host
// through the file API or processes, and writes to template directories stay
// in the sandbox's own layer.  Host-side checks run here because tests/run
// starts e2bd on this machine (loopback only).

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { FileNotFoundError, NotFoundError } from 'e2b'
import { REQUEST_TIMEOUT_MS, API_URL, sharedSandbox, createSandbox, killSandbox, uniq, rejectsWith } from './lib.mjs'

const T = { timeout: 60_000 }
const rto = { requestTimeoutMs: REQUEST_TIMEOUT_MS }
const sandbox = sharedSandbox()
const local = () => /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/.test(API_URL) && process.env.TEST_TMP

/* A secret file on the host, in the test's scratch dir (host /tmp). */
function hostSecret() {
	const dir = join(process.env.TEST_TMP, uniq('host'))
	mkdirSync(dir, { recursive: true })
	const file = join(dir, 'secret.txt')
	const secret = uniq('SECRET')
	writeFileSync(file, secret)
	return { dir, file, secret }
}

test('isolation: host files outside the template are invisible', T, async (t) => {
	if (!local()) return t.skip('needs a local e2bd and TEST_TMP (run through tests/run)')
	const sbx = await sandbox()
	const h = hostSecret()
	assert.equal(await sbx.files.exists(h.file, rto), false, 'host scratch file via Stat')
	await rejectsWith(sbx.files.read(h.file, rto), FileNotFoundError, 'host scratch file via GET /files')
	await rejectsWith(sbx.files.read(`/home/user/../../..${h.file}`, rto), FileNotFoundError, 'with ..')
	const r = await sbx.commands.run(`cat ${h.file} 2>&1; ls ${h.dir} 2>&1; true`, { user: 'root', ...rto })
	assert.ok(!r.stdout.includes(h.secret), 'a root process cannot read it either')
	// The harness keeps the API key next to TEST_TMP and e2bd's state in E2BD_STATE_DIR.
	const keyFile = join(dirname(process.env.TEST_TMP), 'api-key')
	if (existsSync(keyFile)) {
		assert.equal(await sbx.files.exists(keyFile, rto), false, 'the API key file is invisible')
		const k = await sbx.commands.run(`cat ${keyFile} 2>/dev/null | wc -c`, { user: 'root', ...rto })
		assert.equal(k.stdout.trim(), '0')
	}
	if (process.env.E2BD_STATE_DIR) {
		assert.equal(await sbx.files.exists(process.env.E2BD_STATE_DIR, rto), false, 'e2bd state dir is invisible')
	}
	rmSync(h.dir, { recursive: true, force: true })
})

test('isolation: symlinks cannot reach the host through the file API', T, async (t) => {
	if (!local()) return t.skip('needs a local e2bd and TEST_TMP (run through tests/run)')
	const sbx = await sandbox()
	const h = hostSecret()
	const base = `/home/user/${uniq('links')}`
	await sbx.files.makeDir(base, rto)
	await sbx.commands.run([
		`cd ${base}`,
		`ln -s ${h.file} abs-file`,
		`ln -s ${h.dir} abs-dir`,
		'ln -s / root-link',
		`ln -s ../../../../../../../..${h.file} rel-file`,
		`ln -s ../../../../../../../..${h.dir} rel-dir`,
	].join(' && '), rto)
	for (const p of [`${base}/abs-file`, `${base}/rel-file`, `${base}/root-link${h.file}`, `${base}/abs-dir/secret.txt`, `${base}/rel-dir/secret.txt`]) {
		let got = null
		try {
			got = await sbx.files.read(p, rto)
		} catch (e) {
			assert.ok(e instanceof NotFoundError, `read ${p}: ${e.constructor.name}: ${e.message}`)
		}
		assert.notEqual(got, h.secret, `read through ${p} must not reach the host file`)
	}
	await rejectsWith(sbx.files.list(`${base}/abs-dir`, rto), NotFoundError, 'list through an absolute dir link')
	// Writes through links land inside the sandbox (or fail), never on the host.
	for (const p of [`${base}/abs-dir/pwn.txt`, `${base}/rel-dir/pwn2.txt`, `${base}/root-link${h.dir}/pwn3.txt`]) {
		await sbx.files.write(p, 'pwned', rto).catch(() => {})
	}
	await sbx.files.rename(`${base}/abs-file`, `${base}/abs-dir/moved`, rto).catch(() => {})
	await sbx.files.makeDir(`${base}/abs-dir/newdir`, rto).catch(() => {})
	await sbx.files.remove(`${base}/abs-dir/secret.txt`, rto).catch(() => {})
	await sbx.files.remove(`${base}/rel-file`, rto).catch(() => {})
	for (const f of ['pwn.txt', 'pwn2.txt', 'pwn3.txt', 'moved', 'newdir']) {
		assert.equal(existsSync(join(h.dir, f)), false, `host ${f} was not created`)
	}
	assert.equal(readFileSync(h.file, 'utf8'), h.secret, 'the host file is untouched')
	rmSync(h.dir, { recursive: true, force: true })
})

test('isolation: writes to template directories stay in the sandbox', T, async (t) => {
	if (!local()) return t.skip('needs a local e2bd and TEST_TMP (run through tests/run)')
	const sbx = await sandbox()
	const name = uniq('conf-layer')
	// envd runs file RPCs as root, so these succeed inside the sandbox.
	await sbx.files.write(`/usr/local/${name}.txt`, 'layer', rto)
	await sbx.files.write(`/etc/${name}.conf`, 'layer', { user: 'root', ...rto })
	await sbx.commands.run(`echo proc > /opt/${name}.proc && echo proc >> /etc/hostname.${name}`, { user: 'root', ...rto })
	assert.equal(await sbx.files.read(`/usr/local/${name}.txt`, rto), 'layer')
	assert.equal(await sbx.files.read(`/opt/${name}.proc`, rto), 'proc\n')
	for (const p of [`/usr/local/${name}.txt`, `/etc/${name}.conf`, `/opt/${name}.proc`, `/etc/hostname.${name}`]) {
		assert.equal(existsSync(p), false, `host ${p} untouched`)
	}
	// Removing a template file hides it in this sandbox only.  Use a file we
	// put into the host's /opt ourselves, so a broken server cannot hurt.
	const hostFile = `/opt/${name}.host`
	try {
		writeFileSync(hostFile, 'host original')
	} catch (e) {
		t.diagnostic(`host /opt not writable (${e.code}): template-file removal not checked`)
		return
	}
	try {
		const fresh = await createSandbox()
		assert.equal(await fresh.files.read(hostFile, rto), 'host original', 'template file visible')
		await fresh.files.remove(hostFile, rto)
		assert.equal(await fresh.files.exists(hostFile, rto), false, 'removed in the sandbox')
		await fresh.files.write(`${hostFile}`, 'sandbox copy', rto)
		assert.equal(readFileSync(hostFile, 'utf8'), 'host original', 'host file untouched by remove and rewrite')
		await killSandbox(fresh)
	} finally {
		rmSync(hostFile, { force: true })
	}
	// The default user cannot write template dirs from a process.
	const r = await sbx.commands.run(`touch /usr/${name} 2>&1 || echo denied`, rto)
	assert.match(r.stdout, /denied/)
})
