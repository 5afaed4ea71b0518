// SPDX-License-Identifier: MIT
// Shared helpers for the JS SDK conformance tests: environment checks, sandbox
// creation with guaranteed cleanup, raw envd/API requests for wire-level checks,
// and bounded waiting.  Every wait here has a deadline so a broken server
// fails a test instead of hanging it.

import { after } from 'node:test'
import { createHash, randomBytes } from 'node:crypto'
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync, openSync, closeSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { Sandbox } from 'e2b'

/* Checked when first used rather than at import, so a missing variable fails
 * every test by name instead of failing the file before any test line exists. */
function need(name) {
	const v = process.env[name]
	if (!v) throw new Error(`conformance tests need ${name} in the environment (run them through tests/run)`)
	return v
}

export const API_URL = process.env.E2B_API_URL ?? ''
export const SANDBOX_URL = process.env.E2B_SANDBOX_URL ?? ''
/* Only ever read from the environment; never printed. */
export const API_KEY = process.env.E2B_API_KEY ?? ''
export function checkEnv() {
	need('E2B_API_URL')
	need('E2B_SANDBOX_URL')
	need('E2B_API_KEY')
}
export const TEMPLATE = process.env.E2B_CONFORMANCE_TEMPLATE || 'base'
export const ENVD_PORT = 49983

/* Sandbox timeout for test sandboxes: long enough for any one file, short
 * enough that a crashed test run does not leave sandboxes around for long. */
export const SANDBOX_TIMEOUT_MS = 240_000
/* Bound every unary SDK call well under the per-test timeout. */
export const REQUEST_TIMEOUT_MS = 30_000

const live = new Set()
const daemons = new Set()

/* Registered at import (file level): an after() called inside a test would
 * run when that test ends instead. */
after(async () => {
	const ids = [...live]
	live.clear()
	await Promise.allSettled(ids.map((id) => Sandbox.kill(id, { requestTimeoutMs: 10_000 })))
	await Promise.allSettled([...daemons].map((d) => d.stop()))
})

/* Create a sandbox that is killed when the test file ends (even on failure). */
export async function createSandbox(opts = {}) {
	checkEnv()
	const sbx = await Sandbox.create(TEMPLATE, {
		timeoutMs: SANDBOX_TIMEOUT_MS,
		requestTimeoutMs: REQUEST_TIMEOUT_MS,
		...opts,
	})
	live.add(sbx.sandboxId)
	/* Debug knob for server developers: make the SDK act as if e2bd reported
	 * this envd version, to try features before bumping the real one. */
	const force = process.env.E2B_CONFORMANCE_FORCE_ENVD_VERSION
	if (force) {
		sbx.envdApi.version = force
		sbx.commands.envdVersion = force
		sbx.pty.envdVersion = force
	}
	return sbx
}

/* Kill a sandbox made by createSandbox and forget it. */
export async function killSandbox(sbx) {
	live.delete(sbx.sandboxId)
	return sbx.kill({ requestTimeoutMs: REQUEST_TIMEOUT_MS })
}

export function forget(id) {
	live.delete(id)
}

/* One sandbox shared by all tests of a file, created on first use. */
export function sharedSandbox(opts = {}) {
	let p
	return () => {
		if (!p) p = createSandbox(opts)
		return p
	}
}

/* The envd version the server reported for this sandbox. */
export function envdVersion(sbx) {
	return sbx.envdApi?.version ?? '0.0.0'
}

export function versionAtLeast(have, want) {
	const a = String(have).split('-')[0].split('.').map((x) => Number.parseInt(x, 10) || 0)
	const b = String(want).split('.').map((x) => Number.parseInt(x, 10) || 0)
	for (let i = 0; i < 3; i++) {
		if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0)
	}
	return true
}

/* Raw request to a sandbox's envd through header routing (what the SDK does).
 * token: true = the sandbox's envdAccessToken, false = none, string = that. */
export async function envdFetch(sbx, path, { method = 'GET', headers = {}, body, token = true, timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
	checkEnv()
	const h = new Headers(headers)
	h.set('E2b-Sandbox-Id', sbx.sandboxId)
	h.set('E2b-Sandbox-Port', String(ENVD_PORT))
	if (token === true && sbx.envdAccessToken) h.set('X-Access-Token', sbx.envdAccessToken)
	else if (typeof token === 'string') h.set('X-Access-Token', token)
	return fetch(new URL(path, SANDBOX_URL), { method, headers: h, body, signal: AbortSignal.timeout(timeoutMs) })
}

/* Unary Connect call with the JSON codec. */
export async function envdRpc(sbx, procedure, msg, opts = {}) {
	return envdFetch(sbx, `/${procedure}`, {
		method: 'POST',
		...opts,
		headers: { 'Content-Type': 'application/json', 'Connect-Protocol-Version': '1', ...(opts.headers ?? {}) },
		body: JSON.stringify(msg),
	})
}

/* Raw management API request.  key: string to override, null for none. */
export async function apiFetch(method, path, { body, key = API_KEY, timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
	checkEnv()
	const h = new Headers()
	if (key !== null) h.set('X-API-Key', key)
	if (body !== undefined) h.set('Content-Type', 'application/json')
	return fetch(new URL(path, API_URL), {
		method,
		headers: h,
		body: body === undefined ? undefined : JSON.stringify(body),
		signal: AbortSignal.timeout(timeoutMs),
	})
}

export function sha256(data) {
	return createHash('sha256').update(data).digest('hex')
}

export function randomData(n) {
	return new Uint8Array(randomBytes(n))
}

export function uniq(prefix = 'c') {
	return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/* Poll fn until it returns a truthy value; throw after timeoutMs naming what
 * (a string, or a function called at failure time for late detail). */
export async function waitFor(fn, { timeoutMs = 10_000, intervalMs = 100, what = 'condition' } = {}) {
	const deadline = Date.now() + timeoutMs
	let last
	for (;;) {
		try {
			const v = await fn()
			if (v) return v
		} catch (e) {
			last = e
		}
		if (Date.now() >= deadline) {
			throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}${last ? ` (last error: ${last.message})` : ''}`)
		}
		await sleep(intervalMs)
	}
}

/* Reject if promise has not settled within ms. */
export async function within(promise, ms, what = 'operation') {
	let timer
	const t = new Promise((_, reject) => {
		timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)
	})
	try {
		return await Promise.race([promise, t])
	} finally {
		clearTimeout(timer)
	}
}

/* Assert that promise rejects with an instance of cls; returns the error. */
export async function rejectsWith(promise, cls, what = 'call') {
	let err
	try {
		await promise
	} catch (e) {
		err = e
	}
	if (!err) throw new Error(`${what} succeeded, expected ${cls.name}`)
	if (!(err instanceof cls)) {
		throw new Error(`${what} threw ${err?.constructor?.name}: ${err?.message}, expected ${cls.name}`)
	}
	return err
}

export function freePort() {
	return new Promise((resolve, reject) => {
		const s = createServer()
		s.on('error', reject)
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address()
			s.close(() => resolve(port))
		})
	})
}

/* An e2bd of our own (for restarts or another flavor): own port, state dir
 * and key under $TEST_TMP, stopped when the file ends at the latest.  conn
 * are SDK options pointing at it. */
export class PrivateE2bd {
	constructor(extraArgs = [], { key } = {}) {
		this.bin = process.env.E2BD_BIN
		const tmp = process.env.TEST_TMP
		if (!this.bin || !tmp) throw new Error('a private e2bd needs E2BD_BIN and TEST_TMP (run through tests/run)')
		this.dir = mkdtempSync(join(tmp, 'conf-e2bd-'))
		this.keyFile = join(this.dir, 'api-key')
		this.key = key ?? `e2b_${randomBytes(16).toString('hex')}`
		writeFileSync(this.keyFile, `${this.key}\n`, { mode: 0o600 })
		this.log = join(this.dir, 'e2bd.log')
		this.extraArgs = extraArgs
		this.child = null
		daemons.add(this)
	}

	async start() {
		if (!this.port) this.port = await freePort()
		this.url = `http://127.0.0.1:${this.port}`
		this.conn = { apiKey: this.key, apiUrl: this.url, sandboxUrl: this.url, requestTimeoutMs: REQUEST_TIMEOUT_MS }
		const fd = openSync(this.log, 'a')
		const me = spawn(this.bin, ['--listen', `127.0.0.1:${this.port}`, '--state-dir', join(this.dir, 'state'),
			'--api-key-file', this.keyFile, ...this.extraArgs], { stdio: ['ignore', fd, fd] })
		closeSync(fd)
		this.child = me
		await waitFor(async () => {
			if (me.exitCode !== null) throw new Error(`e2bd exited with ${me.exitCode}: ${readFileSync(this.log, 'utf8').slice(-500)}`)
			const r = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(1000) })
			return r.ok
		}, { timeoutMs: 15_000, what: 'private e2bd to come up' })
	}

	async stop() {
		const me = this.child
		this.child = null
		if (!me || me.exitCode !== null) return
		const done = new Promise((r) => me.once('exit', (code, signal) => r({ code, signal })))
		me.kill('SIGTERM')
		const t = setTimeout(() => me.kill('SIGKILL'), 10_000)
		this.exit = await done
		clearTimeout(t)
	}

	/* Throw if the log holds a sanitizer report or e2bd did not exit cleanly
	 * on SIGTERM (call after stop()). */
	assertClean() {
		const log = readFileSync(this.log, 'utf8')
		const m = /AddressSanitizer|LeakSanitizer|runtime error:/.exec(log)
		if (m) throw new Error(`sanitizer report in private e2bd log: ${log.slice(m.index, m.index + 1500)}`)
		if (this.exit && !(this.exit.code === 0 || this.exit.signal === 'SIGTERM')) {
			throw new Error(`private e2bd exited with ${JSON.stringify(this.exit)} on SIGTERM: ${log.slice(-500)}`)
		}
	}

	/* Raw management request to this instance. */
	async api(method, path, body) {
		const h = new Headers({ 'X-API-Key': this.key })
		if (body !== undefined) h.set('Content-Type', 'application/json')
		return fetch(new URL(path, this.url), { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
	}
}
