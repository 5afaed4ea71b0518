// SPDX-License-Identifier: MIT
// Sandbox logs through the official SDK: the SDK has no logs method, so
// its typed API client (ApiClient, the OpenAPI paths E2B's CLI and
// dashboard call) reads GET /sandboxes/{id}/logs and
// /v2/sandboxes/{id}/logs; the entries of commands.run, setTimeout and
// kill are there in E2B's SandboxLogEntry shape, the query arguments the
// spec names select, envs never show, and a killed sandbox's log stays.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ApiClient, ConnectionConfig } from 'e2b'
import { REQUEST_TIMEOUT_MS, createSandbox, killSandbox, checkEnv, uniq } from './lib.mjs'

const T = { timeout: 90_000 }
const rto = { requestTimeoutMs: REQUEST_TIMEOUT_MS }

function client() {
	checkEnv()
	return new ApiClient(new ConnectionConfig({ requestTimeoutMs: REQUEST_TIMEOUT_MS })).api
}

async function logsV2(api, sandboxID, query = {}) {
	const r = await api.GET('/v2/sandboxes/{sandboxID}/logs', { params: { path: { sandboxID }, query } })
	assert.equal(r.response.status, 200, `v2 logs: ${JSON.stringify(r.error)}`)
	return r.data.logs
}

test('logs: the SDK API client reads a sandbox\'s lifecycle and commands', T, async () => {
	const api = client()
	const secret = uniq('secret')
	const sbx = await createSandbox({ envs: { SB_SECRET: secret } })
	const r = await sbx.commands.run('exit 4', { ...rto, envs: { CMD_SECRET: secret } }).catch((e) => e)
	assert.equal(r.exitCode, 4)
	await sbx.setTimeout(200_000, rto)

	const v1 = await api.GET('/sandboxes/{sandboxID}/logs', { params: { path: { sandboxID: sbx.sandboxId } } })
	assert.equal(v1.response.status, 200)
	const events = v1.data.logEntries.map((e) => e.fields.event)
	assert.deepEqual(events, ['sandbox.create', 'process.start', 'process.end', 'sandbox.timeout'])
	assert.equal(v1.data.logs.length, v1.data.logEntries.length)
	for (const e of v1.data.logEntries) {
		assert.ok(!Number.isNaN(Date.parse(e.timestamp)), `timestamp ${e.timestamp}`)
		assert.ok(['debug', 'info', 'warn', 'error'].includes(e.level), `level ${e.level}`)
		assert.equal(typeof e.message, 'string')
		for (const v of Object.values(e.fields)) assert.equal(typeof v, 'string')
	}
	const end = v1.data.logEntries[2]
	assert.equal(end.fields.exitCode, '4')
	assert.equal(end.fields.pid, v1.data.logEntries[1].fields.pid)
	assert.equal(v1.data.logEntries[3].fields.timeout, '200')
	assert.ok(!JSON.stringify(v1.data).includes(secret), 'no env value in the logs')

	const newest = await logsV2(api, sbx.sandboxId, { limit: 1 })
	assert.equal(newest[0].fields.event, 'sandbox.timeout', 'v2 default: newest first')
	const fwd = await logsV2(api, sbx.sandboxId, { direction: 'forward', limit: 2 })
	assert.deepEqual(fwd.map((e) => e.fields.event), ['sandbox.create', 'process.start'])
	const found = await logsV2(api, sbx.sandboxId, { search: 'exited with code 4', level: 'info' })
	assert.deepEqual(found.map((e) => e.fields.event), ['process.end'])

	await killSandbox(sbx)
	const dead = await logsV2(api, sbx.sandboxId, { limit: 1 })
	assert.equal(dead[0].fields.event, 'sandbox.kill', 'a killed sandbox\'s log is still there')
	const none = await api.GET('/v2/sandboxes/{sandboxID}/logs', { params: { path: { sandboxID: 'nosuchsandbox' } } })
	assert.equal(none.response.status, 404)
})
