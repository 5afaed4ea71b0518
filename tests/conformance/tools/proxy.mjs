// SPDX-License-Identifier: MIT
// Logging HTTP/1.1 proxy for diagnosing SDK <-> e2bd traffic: forwards every
// request to a target URL and prints method, path, headers and the first bytes
// of both bodies (Connect envelopes decoded) to stderr.  Secrets (API key,
// access token, signatures, Basic auth) are redacted.
// Usage: node tools/proxy.mjs LISTEN_PORT TARGET_URL
//   then run tests with E2B_API_URL=E2B_SANDBOX_URL=http://127.0.0.1:LISTEN_PORT

import http from 'node:http'

const [port, target] = process.argv.slice(2)
if (!port || !target) {
	process.stderr.write('usage: node tools/proxy.mjs LISTEN_PORT TARGET_URL\n')
	process.exit(2)
}
const tgt = new URL(target)
const LIMIT = Number(process.env.PROXY_BODY_LIMIT || 600)
let seq = 0

const SECRET = /^(x-api-key|x-access-token|authorization)$/i

function redactHeaders(h) {
	const out = {}
	for (const [k, v] of Object.entries(h)) {
		if (!SECRET.test(k)) out[k] = v
		else if (/^authorization$/i.test(k) && /^Basic /.test(v)) out[k] = `Basic <${Buffer.from(v.slice(6), 'base64').toString().split(':')[0]}:…>`
		else out[k] = '<redacted>'
	}
	return out
}

function redactPath(p) {
	return p.replace(/(signature=)[^&]*/g, '$1<redacted>')
}

/* Render a body: decode Connect envelopes when the content type says so. */
function show(buf, ctype) {
	if (!buf.length) return '(empty)'
	if (/connect\+json/.test(ctype || '')) {
		const parts = []
		let off = 0
		while (off + 5 <= buf.length && parts.length < 20) {
			const flags = buf[off]
			const len = buf.readUInt32BE(off + 1)
			const payload = buf.subarray(off + 5, Math.min(off + 5 + len, buf.length))
			parts.push(`[f=${flags} len=${len}] ${payload.toString('utf8').slice(0, 200)}`)
			off += 5 + len
		}
		if (off < buf.length) parts.push(`… ${buf.length - off} more bytes`)
		return parts.join('\n      ')
	}
	const text = buf.subarray(0, LIMIT).toString('utf8')
	const printable = /^[\x09\x0a\x0d\x20-\x7e\u00a0-\uffff]*$/.test(text)
	const s = printable ? text : `<binary ${buf.length} bytes>`
	return buf.length > LIMIT && printable ? `${s}… (${buf.length} bytes)` : s
}

function collect(stream, onChunk) {
	const chunks = []
	let n = 0
	stream.on('data', (c) => {
		if (n < 65536) chunks.push(c)
		n += c.length
		onChunk?.(c)
	})
	return () => ({ buf: Buffer.concat(chunks), total: n })
}

http.createServer((req, res) => {
	const id = ++seq
	const reqBody = collect(req)
	const up = http.request({
		host: tgt.hostname, port: tgt.port || 80, method: req.method, path: req.url,
		headers: req.headers,
	}, (ur) => {
		res.writeHead(ur.statusCode, ur.headers)
		const resBody = collect(ur)
		ur.pipe(res)
		ur.on('end', () => {
			const q = reqBody()
			const r = resBody()
			process.stderr.write(
				`#${id} ${req.method} ${redactPath(req.url)}\n` +
				`  > ${JSON.stringify(redactHeaders(req.headers))}\n` +
				`  > body(${q.total}): ${show(q.buf, req.headers['content-type'])}\n` +
				`  < ${ur.statusCode} ${JSON.stringify(ur.headers)}\n` +
				`  < body(${r.total}): ${show(r.buf, ur.headers['content-type'])}\n`)
		})
	})
	up.on('error', (e) => {
		process.stderr.write(`#${id} ${req.method} ${redactPath(req.url)} upstream error: ${e.message}\n`)
		if (!res.headersSent) res.writeHead(599)
		res.end()
	})
	req.pipe(up)
}).on('error', (e) => {
	process.stderr.write(`proxy: cannot listen on 127.0.0.1:${port}: ${e.message}\n`)
	process.exit(1)
}).listen(Number(port), '127.0.0.1', () => {
	process.stderr.write(`proxy: 127.0.0.1:${port} -> ${tgt.origin}\n`)
})
