// The link service posts Ann's HNA and a plan she shares with her GP; Riverside Surgery pulls her
// shared plans by NHS number, a page at a time (fhir-kit-client's nextPage), in both search forms.

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { activity, allPages, clientFor, exchanges, hna, matches, plan, statusOf, world } from '../lib/setup.mjs';

let w;
let posted;

before(async () => {
  w = await world();
  const link = clientFor('LINK_WORKER');
  const ann = w.ref(w.patients.Ann);
  const service = w.ref(w.orgs.L0001);
  const theHna = await link.create({ resourceType: 'QuestionnaireResponse', body: hna(ann, service, [9, 7, 6]) });
  const activities = [
    activity('physical', 'breathing', 'referral', w.ref(w.orgs.RH001)),
    activity('practical', 'housing', 'referral', w.ref(w.orgs.H0001)),
  ];
  const shared = await link.create({ resourceType: 'CarePlan', body: plan(ann, service, w.ref(theHna), activities) });
  posted = { hna: theHna, plan: shared };
});

test('the link worker\'s HNA and plan are stored, the plan citing the HNA', () => {
  assert.equal(posted.hna.meta.versionId, '1');
  assert.equal(posted.hna.status, 'completed');
  assert.equal(posted.plan.meta.versionId, '1');
  assert.deepEqual(posted.plan.supportingInfo, [{ reference: `QuestionnaireResponse/${posted.hna.id}` }]);
});

test('the GP pulls Ann\'s shared plans by NHS number, one per page, following next links', async () => {
  const gp = clientFor('GP');
  const mark = exchanges.length;
  const first = await gp.search({ resourceType: 'CarePlan', searchParams: { 'patient:identifier': w.nhs('Ann'), _count: 1 } });
  const pages = await allPages(gp, first);
  const plans = pages.flatMap(matches);
  const ids = plans.map((p) => p.id);
  assert.ok(pages.length >= 2, 'paging happened');
  assert.equal(pages.length, ids.length, 'one plan a page');
  assert.equal(new Set(ids).size, ids.length, 'no plan twice');
  assert.equal(first.total, ids.length);
  assert.equal(exchanges.length - mark, pages.length);
  assert.ok(ids.includes(posted.plan.id));
  assert.deepEqual([...new Set(plans.map((p) => p.subject.reference))], [`Patient/${w.patients.Ann.id}`]);
});

test('the chained form patient.identifier finds the same plans', async () => {
  const gp = clientFor('GP');
  const byModifier = await gp.search({ resourceType: 'CarePlan', searchParams: { 'patient:identifier': w.nhs('Ann'), _count: 50 } });
  const chained = await gp.search({ resourceType: 'CarePlan', searchParams: { 'patient.identifier': w.nhs('Ann'), _count: 50 } });
  assert.deepEqual(matches(chained).map((p) => p.id).sort(), matches(byModifier).map((p) => p.id).sort());
  assert.equal(chained.total, byModifier.total);
});

test('another practice finds none of Ann\'s plans, and cannot read them', async () => {
  const other = clientFor('OTHER_GP');
  const found = await other.search({ resourceType: 'CarePlan', searchParams: { 'patient:identifier': w.nhs('Ann') } });
  assert.equal(found.total, 0);
  assert.equal(await statusOf(other.read({ resourceType: 'CarePlan', id: posted.plan.id })), 404);
});

test('$validate: the same plan with an unknown concern would be refused, naming the element', async () => {
  const link = clientFor('LINK_WORKER');
  const bad = structuredClone(posted.plan);
  delete bad.id;
  delete bad.meta.versionId;
  delete bad.meta.lastUpdated;
  bad.activity[0].detail.reasonCode[0].coding[0].code = 'no-such-concern';
  const outcome = await link.operation({ name: '$validate', resourceType: 'CarePlan', input: bad });
  assert.equal(outcome.resourceType, 'OperationOutcome');
  assert.equal(outcome.issue[0].severity, 'error');
  assert.deepEqual(outcome.issue[0].expression, ['CarePlan.activity[0].detail.reasonCode[0].coding[0].code']);
});
