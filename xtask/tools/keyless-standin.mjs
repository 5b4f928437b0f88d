// cordon's loopback stand-in for public-good Sigstore, for the keyless signer's tests:
// Fulcio v2, Rekor v1, Rekor v2 and an RFC 3161 TSA on 127.0.0.1, plus a local OIDC
// issuer minting GitHub-shaped tokens and an endpoint emulating GitHub Actions' ambient
// token service.
//
// Fulcio, the CT log, Rekor v1 and the TSA are the published @sigstore/mock (pinned in
// xtask/tools/package.json) with the fidelity fixes of shared/research/keyless.md §2.3:
// Fulcio checks the token's signature, issuer and audience and the proof of possession,
// derives the SAN from `job_workflow_ref` as Fulcio does, and wraps PEM at 64 columns;
// Rekor v1 canonicalises entries as real Rekor does (Go PEM, dsse envelope reduced to
// hashes) and answers 409 with Location for a duplicate; the TSA reads DER requests and
// echoes the nonce bytes exactly, with whole-second genTime and a positive serial.
// Rekor v2 is written here (the mock's is unusable): hashedrekord 0.0.2 only, an RFC 6962
// tree seeded with random leaves, an Ed25519-signed C2SP checkpoint.
//
// Usage: node keyless-standin.mjs OUT_DIR   (NODE_PATH = the tools' node_modules)
// Writes into OUT_DIR: trusted_root.json, signing_config_{v1,v2,v1_notsa,v2_notsa}.json,
// trust_config_{v1,v2}.json (sigstore-python), token.jwt, token_foreign.jwt,
// actions_bearer, and last ready.json ({"port"}). Faults are injected with
// POST /__fault {"path","status"?,"times"?,"delayMs"?,"conflict"?,"pastCertMinutes"?}.
import { createServer } from 'node:http';
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(process.cwd() + '/');
const mock = require('@sigstore/mock');
const jose = require('jose');
const pkijs = require('pkijs');
const asn1js = require('asn1js');
const canonicalize = require('canonicalize');

const OUT = process.argv[2];
mkdirSync(OUT, { recursive: true });
const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
const START = '2020-01-01T00:00:00Z';
const b64 = (bytes) => Buffer.from(bytes).toString('base64');
const sha256 = (...parts) => { const h = createHash('sha256'); for (const p of parts) h.update(p); return h.digest(); };
const p256 = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const spki = (key) => key.export({ format: 'der', type: 'spki' });
function goPem(label, der) {
  const lines = b64(der).match(/.{1,64}/g).join('\n');
  return `-----BEGIN ${label}-----\n${lines}\n-----END ${label}-----\n`;
}
const pemBody = (pem) => Buffer.from(pem.replace(/-{5}(BEGIN|END) [^-]*-{5}/g, '').replace(/\s/g, ''), 'base64');

// ---- keys and the mock's building blocks ----
const caKeys = p256(), ctKeys = p256(), rekorKeys = p256(), tsaKeys = p256();
const ctlog = await mock.initializeCTLog(ctKeys);
const ca = await mock.initializeCA(caKeys, ctlog);
const tsa = await mock.initializeTSA(tsaKeys);
const issuerKeys = await jose.generateKeyPair('ES256');
const foreignKeys = await jose.generateKeyPair('ES256');
const v2Keys = generateKeyPairSync('ed25519');
const v2Pub = spki(v2Keys.publicKey).subarray(-32);

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => route(req, Buffer.concat(chunks)).then(
    (r) => answer(res, r),
    (e) => answer(res, { status: 500, json: { code: 13, message: String(e && e.stack || e) } })));
});
server.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const PORT = server.address().port;
const BASE = `http://127.0.0.1:${PORT}`;
const V2_ORIGIN = `127.0.0.1:${PORT}/v2`;
const fulcioV1 = mock.fulcioHandler(ca, { strict: true, subjectClaim: 'san' });
const tlog = await mock.initializeTLog(BASE, rekorKeys);
const rekorV1 = mock.rekorHandler(tlog);

function answer(res, r) {
  const headers = { ...(r.headers || {}) };
  let body = r.body ?? '';
  if (r.json !== undefined) { body = JSON.stringify(r.json); headers['content-type'] = 'application/json'; }
  if (r.contentType) headers['content-type'] = r.contentType;
  res.writeHead(r.status, headers);
  res.end(body);
}
const grpcError = (status, code, message) => ({ status, json: { code, message } });

// ---- fault injection ----
const faults = [];
function takeFault(path) {
  const i = faults.findIndex((f) => f.path === path);
  if (i < 0) return undefined;
  const f = faults[i];
  if (--f.times <= 0) faults.splice(i, 1);
  return f;
}

async function route(req, body) {
  const url = new URL(req.url, BASE);
  if (req.method === 'POST' && url.pathname === '/__fault') {
    const f = JSON.parse(body.toString());
    faults.push({ times: 1, ...f });
    return { status: 204 };
  }
  const fault = takeFault(url.pathname);
  if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
  if (fault?.status) {
    const headers = fault.status === 429 || fault.status === 503 ? { 'retry-after': '0' } : {};
    return { ...grpcError(fault.status, 14, `injected fault: HTTP ${fault.status}`), headers };
  }
  if (req.method === 'GET' && url.pathname === '/actions/token') return actionsToken(req, url);
  if (req.method === 'POST' && url.pathname === '/api/v2/signingCert') return fulcio(req, body, fault);
  if (req.method === 'POST' && url.pathname === '/api/v1/log/entries') return rekorV1Create(body, fault);
  if (req.method === 'GET' && url.pathname.startsWith('/api/v1/log/entries/')) return rekorV1Get(url);
  if (req.method === 'POST' && url.pathname === '/v2/api/v2/log/entries') return rekorV2Create(body, fault);
  if (req.method === 'POST' && url.pathname === '/api/v1/timestamp') return timestamp(req, body);
  return grpcError(404, 5, `no route ${req.method} ${url.pathname}`);
}

// ---- GitHub Actions ambient token endpoint ----
const ACTIONS_BEARER = randomBytes(16).toString('hex');
async function actionsToken(req, url) {
  if (req.headers.authorization !== `Bearer ${ACTIONS_BEARER}`) return grpcError(401, 16, 'bad bearer token');
  if (url.searchParams.get('audience') !== 'sigstore') return grpcError(400, 3, 'audience must be sigstore');
  return { status: 200, json: { count: 1, value: await mint(issuerKeys.privateKey) } };
}

// ---- local OIDC issuer ----
const WORKFLOW_REF = 'acme/cordon/.github/workflows/release.yml@refs/tags/v1.2.3';
async function mint(key, overrides = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new jose.SignJWT({
    aud: 'sigstore', sub: 'repo:acme/cordon:ref:refs/tags/v1.2.3', repository: 'acme/cordon',
    repository_owner: 'acme', repository_id: '1', repository_owner_id: '2', ref: 'refs/tags/v1.2.3',
    sha: '0123456789abcdef0123456789abcdef01234567', workflow: 'release', event_name: 'push',
    job_workflow_ref: WORKFLOW_REF, job_workflow_sha: '0123456789abcdef0123456789abcdef01234567',
    workflow_ref: WORKFLOW_REF, workflow_sha: '0123456789abcdef0123456789abcdef01234567',
    runner_environment: 'github-hosted', run_id: '42', run_attempt: '1', repository_visibility: 'public',
    ...overrides,
  }).setProtectedHeader({ alg: 'ES256', kid: 'cordon-test' }).setIssuer(GITHUB_ISSUER)
    .setIssuedAt(now).setNotBefore(now - 5).setExpirationTime(now + 3600).sign(key);
}

// ---- Fulcio v2 ----
async function fulcio(req, body, fault) {
  let request;
  try { request = JSON.parse(body.toString()); } catch { return grpcError(400, 3, 'the body is not JSON'); }
  const bearer = (req.headers.authorization || '').replace(/^Bearer /, '');
  const jwt = request.credentials?.oidcIdentityToken || bearer;
  let claims;
  try {
    ({ payload: claims } = await jose.jwtVerify(jwt, issuerKeys.publicKey, { issuer: GITHUB_ISSUER, audience: 'sigstore' }));
  } catch (e) {
    return grpcError(401, 16, `There was an error processing the identity token: ${e.code || e.message}`);
  }
  let publicKeyPem;
  if (request.publicKeyRequest) {
    publicKeyPem = request.publicKeyRequest.publicKey?.content;
    const challenge = claims.email || claims.sub;
    let ok = false;
    try {
      ok = verify('sha256', Buffer.from(challenge), createPublicKey(publicKeyPem),
        Buffer.from(request.publicKeyRequest.proofOfPossession || '', 'base64'));
    } catch { ok = false; }
    if (!ok) return grpcError(400, 3, 'The signature supplied in the request could not be verified');
  } else if (request.certificateSigningRequest) {
    // sigstore-python: base64 of a PEM CSR; its self-signature is the proof of possession.
    const csrPem = Buffer.from(request.certificateSigningRequest, 'base64').toString();
    const csr = pkijs.CertificationRequest.fromBER(pemBody(csrPem));
    if (!(await csr.verify())) return grpcError(400, 3, 'The CSR signature could not be verified');
    publicKeyPem = goPem('PUBLIC KEY', Buffer.from(csr.subjectPublicKeyInfo.toSchema().toBER(false)));
  } else {
    return grpcError(400, 3, 'neither publicKeyRequest nor certificateSigningRequest');
  }
  // Fulcio's GitHub principal: SAN = https://github.com/{job_workflow_ref}.
  const san = `https://github.com/${claims.job_workflow_ref}`;
  const inner = new jose.UnsecuredJWT({ ...claims, san }).encode();
  const saved = ca.getCurrentTime;
  if (fault?.pastCertMinutes) {
    const at = new Date(Date.now() - fault.pastCertMinutes * 60_000);
    ca.getCurrentTime = () => at;
  }
  let result;
  try {
    result = await fulcioV1.fn(JSON.stringify({
      credentials: { oidcIdentityToken: inner },
      publicKeyRequest: { publicKey: { algorithm: 'ECDSA', content: publicKeyPem } },
    }));
  } finally { ca.getCurrentTime = saved; }
  if (result.statusCode !== 201) return grpcError(result.statusCode, 3, String(result.response));
  const response = JSON.parse(result.response);
  const chain = response.signedCertificateEmbeddedSct.chain;
  chain.certificates = chain.certificates.map((pem) => goPem('CERTIFICATE', pemBody(pem)));
  return { status: 201, json: response };
}

// ---- Rekor v1 ----
const v1Entries = new Map(); // uuid -> answer
const v1Bodies = new Map(); // canonical body -> uuid
function canonicalV1(proposed) {
  if (proposed.kind === 'hashedrekord' && proposed.apiVersion === '0.0.1') {
    const s = proposed.spec;
    const key = goPem(/CERTIFICATE/.test(Buffer.from(s.signature.publicKey.content, 'base64').toString()) ? 'CERTIFICATE' : 'PUBLIC KEY',
      pemBody(Buffer.from(s.signature.publicKey.content, 'base64').toString()));
    return { apiVersion: '0.0.1', kind: 'hashedrekord', spec: {
      data: { hash: { algorithm: s.data.hash.algorithm, value: s.data.hash.value } },
      signature: { content: s.signature.content, publicKey: { content: b64(key) } } } };
  }
  if (proposed.kind === 'dsse' && proposed.apiVersion === '0.0.1') {
    const pc = proposed.spec.proposedContent;
    const envelope = JSON.parse(pc.envelope);
    const verifier = b64(goPem('CERTIFICATE', pemBody(Buffer.from(pc.verifiers[0], 'base64').toString())));
    const signatures = envelope.signatures.map((s) => ({ signature: s.sig, verifier }))
      .sort((a, b) => (a.signature < b.signature ? -1 : a.signature > b.signature ? 1 : 0));
    return { apiVersion: '0.0.1', kind: 'dsse', spec: {
      envelopeHash: { algorithm: 'sha256', value: sha256(pc.envelope).toString('hex') },
      payloadHash: { algorithm: 'sha256', value: sha256(Buffer.from(envelope.payload, 'base64')).toString('hex') },
      signatures } };
  }
  throw new Error(`unsupported entry kind ${proposed.kind} ${proposed.apiVersion}`);
}
async function rekorV1Create(body, fault) {
  let canonical;
  try { canonical = canonicalV1(JSON.parse(body.toString())); } catch (e) { return grpcError(400, 3, e.message); }
  const key = canonicalize(canonical);
  if (v1Bodies.has(key)) {
    const uuid = v1Bodies.get(key);
    return { ...grpcError(409, 6, 'an equivalent entry already exists in the transparency log'),
      headers: { location: `/api/v1/log/entries/${uuid}` } };
  }
  const result = await rekorV1.fn(JSON.stringify(canonical));
  if (result.statusCode !== 201) return grpcError(result.statusCode, 3, String(result.response));
  const entry = JSON.parse(result.response);
  const uuid = Object.keys(entry)[0];
  v1Entries.set(uuid, entry);
  v1Bodies.set(key, uuid);
  const location = `/api/v1/log/entries/${uuid}`;
  if (fault?.conflict) {
    // As if the first answer had been lost and this is the client's retry.
    return { ...grpcError(409, 6, 'an equivalent entry already exists in the transparency log'), headers: { location } };
  }
  return { status: 201, json: entry, headers: { location, etag: uuid } };
}
function rekorV1Get(url) {
  const uuid = url.pathname.split('/').pop();
  const entry = v1Entries.get(uuid);
  return entry ? { status: 200, json: entry } : grpcError(404, 5, `no entry ${uuid}`);
}

// ---- Rekor v2 (own implementation) ----
const leafHash = (data) => sha256(Buffer.from([0]), data);
const nodeHash = (l, r) => sha256(Buffer.from([1]), l, r);
const split = (n) => { let k = 1; while (k * 2 < n) k *= 2; return k; };
const mth = (leaves) => (leaves.length === 1 ? leaves[0]
  : nodeHash(mth(leaves.slice(0, split(leaves.length))), mth(leaves.slice(split(leaves.length)))));
function auditPath(m, leaves) {
  if (leaves.length === 1) return [];
  const k = split(leaves.length);
  return m < k ? [...auditPath(m, leaves.slice(0, k)), mth(leaves.slice(k))]
    : [...auditPath(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}
const v2Leaves = Array.from({ length: 5 }, () => leafHash(randomBytes(32)));
const v2KeyHash = sha256(Buffer.from(`${V2_ORIGIN}\n`), Buffer.from([1]), v2Pub);
const v2Digests = new Map();
function checkpoint(size, root) {
  const note = `${V2_ORIGIN}\n${size}\n${b64(root)}\n`;
  const sig = sign(null, Buffer.from(note), v2Keys.privateKey);
  return `${note}\n\u2014 ${V2_ORIGIN} ${b64(Buffer.concat([v2KeyHash.subarray(0, 4), sig]))}\n`;
}
async function rekorV2Create(body, fault) {
  let request;
  try { request = JSON.parse(body.toString()); } catch { return grpcError(400, 3, 'the body is not JSON'); }
  const hr = request.hashedRekordRequestV002 || request.hashed_rekord_request_v002;
  if (!hr) return grpcError(400, 3, 'invalid type, must be hashedrekord');
  const verifier = hr.signature?.verifier;
  if (!hr.digest || !hr.signature?.content || !verifier?.keyDetails) return grpcError(400, 3, 'missing digest, signature or verifier');
  const canonical = Buffer.from(canonicalize({ apiVersion: '0.0.2', kind: 'hashedrekord', spec: { hashedRekordV002: {
    data: { algorithm: 'SHA2_256', digest: hr.digest },
    signature: { content: hr.signature.content, verifier } } } }));
  const dupKey = canonical.toString();
  if (v2Digests.has(dupKey) || fault?.conflict) {
    return { ...grpcError(409, 6, 'an equivalent entry already exists in the transparency log'),
      headers: { 'x-log-index': String(v2Digests.get(dupKey) ?? v2Leaves.length - 1) } };
  }
  const index = v2Leaves.length;
  v2Leaves.push(leafHash(canonical));
  v2Digests.set(dupKey, index);
  const size = v2Leaves.length;
  const root = mth(v2Leaves);
  return { status: 201, json: {
    logIndex: String(index),
    logId: { keyId: b64(v2KeyHash) },
    kindVersion: { kind: 'hashedrekord', version: '0.0.2' },
    inclusionProof: { logIndex: String(index), rootHash: b64(root), treeSize: String(size),
      hashes: auditPath(index, v2Leaves).map(b64), checkpoint: { envelope: checkpoint(size, root) } },
    canonicalizedBody: b64(canonical),
  } };
}

// ---- TSA ----
const tsaTstInfo = Object.getPrototypeOf(tsa).tstInfo;
async function timestamp(req, body) {
  if ((req.headers['content-type'] || '').startsWith('application/json')) {
    const result = await mock.tsaHandler(tsa).fn(body);
    return { status: result.statusCode, body: result.response, contentType: result.contentType };
  }
  let parsed;
  try { parsed = pkijs.TimeStampReq.fromBER(body); } catch (e) { return grpcError(400, 3, `not a DER TimeStampReq: ${e.message}`); }
  const nonce = parsed.nonce ? Buffer.from(parsed.nonce.valueBlock.valueHexView) : undefined;
  const whole = new Date(Math.floor(Date.now() / 1000) * 1000);
  tsa.getCurrentTime = () => whole;
  tsa.tstInfo = function (r) {
    const info = tsaTstInfo.call(this, r);
    info.serialNumber = new asn1js.Integer({ valueHex: Buffer.concat([Buffer.from([0x01]), randomBytes(8)]) });
    if (nonce) info.nonce = new asn1js.Integer({ valueHex: nonce }); else delete info.nonce;
    return info;
  };
  const der = await tsa.timestamp({
    artifactHash: Buffer.from(parsed.messageImprint.hashedMessage.valueBlock.valueHexView),
    hashAlgorithmOID: parsed.messageImprint.hashAlgorithm.algorithmId,
    nonce: 0, policyOID: '1.3.6.1.4.1.57264.2', certReq: parsed.certReq ?? false,
  });
  return { status: 201, body: Buffer.from(der.buffer ?? der), contentType: 'application/timestamp-reply' };
}

// ---- trust material ----
const validFor = { start: START };
const trustedRoot = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [
    { baseUrl: BASE, hashAlgorithm: 'SHA2_256', logId: { keyId: b64(sha256(spki(rekorKeys.publicKey))) },
      publicKey: { rawBytes: b64(spki(rekorKeys.publicKey)), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor } },
    { baseUrl: `${BASE}/v2`, hashAlgorithm: 'SHA2_256', logId: { keyId: b64(v2KeyHash) },
      publicKey: { rawBytes: b64(spki(v2Keys.publicKey)), keyDetails: 'PKIX_ED25519', validFor } },
  ],
  certificateAuthorities: [{ subject: { organization: 'sigstore.mock', commonName: 'sigstore' }, uri: BASE,
    certChain: { certificates: [{ rawBytes: b64(ca.rootCertificate) }] }, validFor }],
  ctlogs: [{ baseUrl: BASE, hashAlgorithm: 'SHA2_256', logId: { keyId: b64(ctlog.logID) },
    publicKey: { rawBytes: b64(ctlog.publicKey), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor } }],
  timestampAuthorities: [{ subject: { organization: 'sigstore.mock', commonName: 'tsa' }, uri: `${BASE}/api/v1/timestamp`,
    certChain: { certificates: [{ rawBytes: b64(tsa.intCertificate) }, { rawBytes: b64(tsa.rootCertificate) }] }, validFor }],
};
const service = (url, majorApiVersion) => ({ url, majorApiVersion, validFor, operator: 'cordon-standin' });
const signingConfig = (rekor, withTsa) => ({
  mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
  caUrls: [service(BASE, 1)], oidcUrls: [service(BASE, 1)], rekorTlogUrls: [rekor],
  tsaUrls: withTsa ? [service(`${BASE}/api/v1/timestamp`, 1)] : [],
  rekorTlogConfig: { selector: 'ANY' }, tsaConfig: { selector: 'ANY' },
});
const configs = {
  v1: signingConfig(service(BASE, 1), true), v2: signingConfig(service(`${BASE}/v2`, 2), true),
  v1_notsa: signingConfig(service(BASE, 1), false), v2_notsa: signingConfig(service(`${BASE}/v2`, 2), false),
};
const write = (name, value) => writeFileSync(join(OUT, name), typeof value === 'string' ? value : JSON.stringify(value, null, 2));
write('trusted_root.json', trustedRoot);
for (const [name, config] of Object.entries(configs)) write(`signing_config_${name}.json`, config);
for (const name of ['v1', 'v2']) {
  write(`trust_config_${name}.json`, { mediaType: 'application/vnd.dev.sigstore.clienttrustconfig.v0.1+json',
    trustedRoot, signingConfig: configs[name] });
}
write('token.jwt', await mint(issuerKeys.privateKey));
write('token_foreign.jwt', await mint(foreignKeys.privateKey));
write('actions_bearer', ACTIONS_BEARER);
write('ready.json.partial', { port: PORT, identity: `https://github.com/${WORKFLOW_REF}`, issuer: GITHUB_ISSUER });
renameSync(join(OUT, 'ready.json.partial'), join(OUT, 'ready.json'));
process.on('SIGTERM', () => { server.close(); process.exit(0); });
