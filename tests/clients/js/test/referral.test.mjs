// City Hospital (CNS, RH001) refers Ann to Northside Housing (H0001) in one transaction; housing
// finds the referral on its worklist, redacted to the practical domain Ann shares with it, and
// accepts it; the hospital sees the answer. Then the housing view of Ann's plans.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, test } from 'node:test';
import { CANON, ODS, clientFor, concerns, matches, redacted, statusOf, world } from '../lib/setup.mjs';

const NOTE = 'Rent arrears since she stopped work';
let w;
let sent;

function transaction(subject, requester, receiver, reasons) {
  const urn = `urn:uuid:${randomUUID()}`;
  const referral = {
    resourceType: 'ServiceRequest',
    meta: { profile: [`${CANON}/StructureDefinition/referral-servicerequest`] },
    status: 'active',
    intent: 'order',
    category: [{ coding: [{ system: 'http://snomed.info/sct', code: '3457005' }] }],
    subject,
    authoredOn: '2026-12-03T14:00:00Z',
    requester,
    performer: [receiver],
    reasonCode: reasons.map((code) => ({ coding: [{ system: `${CANON}/CodeSystem/hna-concern`, code }] })),
    note: [{ text: NOTE }],
  };
  const task = {
    resourceType: 'Task',
    meta: { profile: [`${CANON}/StructureDefinition/referral-task`] },
    status: 'requested',
    intent: 'order',
    code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
    focus: { reference: urn },
    for: subject,
    authoredOn: '2026-12-03T14:00:00Z',
    requester,
    owner: receiver,
  };
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: urn, resource: referral, request: { method: 'POST', url: 'ServiceRequest' } },
      { resource: task, request: { method: 'POST', url: 'Task' } },
    ],
  };
}

const worklist = (client) => client.search({
  resourceType: 'Task',
  searchParams: { 'owner:identifier': `${ODS}|H0001`, status: 'requested,received', _include: 'Task:focus' },
});

before(async () => {
  w = await world();
  const waiting = (await worklist(clientFor('HOUSING'))).total;
  const body = transaction(w.ref(w.patients.Ann), w.ref(w.orgs.RH001), w.ref(w.orgs.H0001), ['money-finance', 'housing', 'breathing']);
  const response = await clientFor('CNS').transaction({ body });
  const [referral, task] = response.entry.map((e) => e.response.location.split('/')[1]);
  sent = { response, referral, task, waiting };
});

test('the transaction creates the referral and its Task together', () => {
  assert.equal(sent.response.type, 'transaction-response');
  assert.deepEqual(sent.response.entry.map((e) => e.response.status.split(' ')[0]), ['201', '201']);
});

test('housing finds the referral on its worklist with only the practical reasons', async () => {
  const bundle = await worklist(clientFor('HOUSING'));
  assert.equal(bundle.total, sent.waiting + 1);
  const task = matches(bundle).find((t) => t.id === sent.task);
  assert.equal(task.status, 'requested');
  const referral = bundle.entry.find((e) => e.search.mode === 'include' && e.resource.id === sent.referral).resource;
  assert.ok(redacted(referral));
  assert.deepEqual(concerns(referral), ['money-finance', 'housing'], 'breathing is physical: not for housing');
  assert.equal(referral.note, undefined);
});

test('housing accepts it on the Task, replacing the version it read; the hospital sees the answer', async () => {
  const housing = clientFor('HOUSING');
  const task = await housing.read({ resourceType: 'Task', id: sent.task });
  // fhir-kit-client has no If-Match parameter: per-request headers are its way to send one.
  const stale = `W/"${task.meta.versionId}"`;
  const accepted = await housing.update({
    resourceType: 'Task', id: task.id, body: { ...task, status: 'accepted' }, options: { headers: { 'If-Match': stale } },
  });
  assert.equal(accepted.status, 'accepted');
  assert.equal(accepted.meta.versionId, String(Number(task.meta.versionId) + 1));
  // The same stale version again: 412, nothing changes.
  const again = housing.update({ resourceType: 'Task', id: task.id, body: { ...task, status: 'rejected', statusReason: { text: 'x' } }, options: { headers: { 'If-Match': stale } } });
  assert.equal(await statusOf(again), 412);
  // Off the worklist; the hospital sees it accepted, its referral still active and whole.
  assert.ok(!matches(await worklist(housing)).some((t) => t.id === sent.task));
  const hospital = await clientFor('CNS').search({
    resourceType: 'Task', searchParams: { 'requester:identifier': `${ODS}|RH001`, _id: sent.task, _include: 'Task:focus' },
  });
  assert.equal(matches(hospital)[0].status, 'accepted');
  const referral = hospital.entry.find((e) => e.search.mode === 'include').resource;
  assert.equal(referral.status, 'active');
  assert.ok(!redacted(referral));
  assert.deepEqual(concerns(referral), ['money-finance', 'housing', 'breathing']);
  assert.equal(referral.note[0].text, NOTE);
});

test('the welfare service, not addressed, finds neither the referral nor the Task', async () => {
  const welfare = clientFor('WELFARE');
  assert.equal((await welfare.search({ resourceType: 'ServiceRequest', searchParams: { _id: sent.referral } })).total, 0);
  assert.equal(await statusOf(welfare.read({ resourceType: 'Task', id: sent.task })), 404);
});

test('the housing view: Ann\'s plans with their practical activities only, nothing else of hers', async () => {
  const housing = clientFor('HOUSING');
  const link = clientFor('LINK_WORKER');
  const ann = w.patients.Ann.id;
  const seen = matches(await housing.search({ resourceType: 'CarePlan', searchParams: { patient: ann } }));
  const whole = Object.fromEntries(matches(await link.search({ resourceType: 'CarePlan', searchParams: { patient: ann, _count: 100 } })).map((p) => [p.id, p]));
  assert.ok(seen.length >= 1);
  const housingOrg = `Organization/${w.orgs.H0001.id}`;
  for (const p of seen) {
    assert.ok(redacted(p));
    // The activities housing performs in the domain Ann shares with it (practical); none of the others.
    const theirs = whole[p.id].activity
      .filter((a) => a.detail.performer?.every((r) => r.reference === housingOrg) && a.detail.extension[0].valueCoding.code === 'practical')
      .map((a) => a.detail.reasonCode[0].coding[0].code);
    assert.deepEqual(concerns(p), theirs);
    assert.ok(theirs.includes('housing'));
    assert.ok(concerns(whole[p.id]).length > theirs.length, 'the plan had more than housing may see');
    assert.equal(p.description, undefined);
  }
  const everything = matches(await housing.search({ resourceType: 'CarePlan', searchParams: { _count: 100 } }));
  assert.deepEqual([...new Set(everything.map((p) => p.subject.reference))], [`Patient/${ann}`]);
  assert.equal((await housing.search({ resourceType: 'QuestionnaireResponse' })).total, 0);
});
