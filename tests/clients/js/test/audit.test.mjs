// The auditor's count and explanation, and Ann's access report, with fhir-kit-client. (The NDJSON
// $audit-export is the Python suite's: fhir-kit-client parses every body as one JSON document.)

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { clientFor, matches, world } from '../lib/setup.mjs';

let w;
let plan;

before(async () => {
  w = await world();
  [plan] = matches(await clientFor('GP').search({ resourceType: 'CarePlan', searchParams: { patient: w.patients.Ann.id, _count: 1 } }));
});

const gpReads = async () => (await clientFor('AUDITOR').search({
  resourceType: 'AuditEvent',
  searchParams: { entity: `CarePlan/${plan.id}`, 'agent-role': 'gp', organization: 'A81001', subtype: 'read', _summary: 'count' },
})).total;

test('the auditor counts Riverside Surgery\'s reads of Ann\'s plan, one more after a read', async () => {
  const before = await gpReads();
  await clientFor('GP').read({ resourceType: 'CarePlan', id: plan.id });
  assert.equal(await gpReads(), before + 1);
});

test('Ann finds her practice\'s read of her plan in her access report, without staff names', async () => {
  await clientFor('GP').read({ resourceType: 'CarePlan', id: plan.id });
  const report = await clientFor('ANN').search({
    resourceType: 'AuditEvent', searchParams: { entity: `CarePlan/${plan.id}`, subtype: 'read', _sort: '-date', _count: 5 },
  });
  const [latest] = matches(report);
  const roles = latest.agent[0].role.flatMap((r) => r.coding.map((c) => c.code));
  assert.ok(roles.includes('gp') && roles.includes('A81001'));
  assert.equal(latest.agent[0].who.identifier, undefined);
  assert.ok(latest.entity.some((e) => e.what?.reference?.startsWith(`CarePlan/${plan.id}/_history/`)));
});

test('$consent-explain tells the auditor why housing sees Ann\'s plan redacted', async () => {
  const answer = await clientFor('AUDITOR').operation({
    name: '$consent-explain', method: 'GET', input: { resource: `CarePlan/${plan.id}`, role: 'housing', organization: 'H0001' },
  });
  assert.equal(answer.resourceType, 'Parameters');
  const decision = answer.parameter.find((p) => p.name === 'decision').valueCode;
  assert.equal(decision, 'redacted');
  const explanation = answer.parameter.find((p) => p.name === 'explanation').valueString;
  assert.match(explanation, /Consent\//);
});

test('clinical roles have no audit search', async () => {
  await assert.rejects(clientFor('GP').search({ resourceType: 'AuditEvent' }), (e) => e.response.status === 403);
});
