// The JavaScript client suite's setup: a fhir-kit-client Client per role of the sample world, every
// response recorded for the strict R4 validator, and the sample world as its users find it.
//
// tests/clients/run.sh exports CB_BASE, CB_ROOT, CB_TOKEN_<ROLE>, CB_CLIENT_ID, CB_CLIENT_SECRET and
// CB_JS_DUMP (tests/clients/python/conftest.py says what each is). fhir-kit-client sends its requests
// with the global fetch, so wrapping it records every response the library received, untouched: one
// NDJSON line per response in CB_JS_DUMP, which the Python suite's validator (fhir_strict.py, the same
// one the Python journeys use) then checks resource by resource.

import { appendFileSync } from 'node:fs';
import { Client } from 'fhir-kit-client';

export const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
export const ODS = 'https://fhir.nhs.uk/Id/ods-organization-code';
export const CANON = 'https://fhir.carebridge.uk';

export function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the suite with \`bash tests/clients/run.sh\``);
  return value;
}

export const base = env('CB_BASE');
export const root = env('CB_ROOT');
const dump = env('CB_JS_DUMP');

/** Every response received in this process: { method, url, status }. */
export const exchanges = [];

const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const request = input instanceof Request ? input : new Request(input, init);
  const response = await realFetch(input, init);
  const body = await response.clone().text();
  const where = `${request.method} ${request.url} -> ${response.status}`;
  exchanges.push({ method: request.method, url: request.url, status: response.status });
  appendFileSync(dump, `${JSON.stringify({ where, status: response.status, contentType: response.headers.get('content-type') ?? '', body })}\n`);
  return response;
};

/** A fhir-kit-client Client with `role`'s token (`GP`, `LINK_WORKER`...), or none. */
export function clientFor(role) {
  const client = new Client({ baseUrl: base });
  if (role) client.bearerToken = env(`CB_TOKEN_${role}`);
  return client;
}

/** Resources of a search Bundle, `match` entries only. */
export function matches(bundle) {
  return (bundle.entry ?? []).filter((e) => (e.search?.mode ?? 'match') === 'match').map((e) => e.resource);
}

/** Every page of a search, following `next` links with the library's nextPage. */
export async function allPages(client, first) {
  const pages = [first];
  for (let page = await client.nextPage({ bundle: first }); page; page = await client.nextPage({ bundle: page })) {
    pages.push(page);
  }
  return pages;
}

/** The sample world (src/sample.rs) as the link service finds it. */
export async function world() {
  const link = clientFor('LINK_WORKER');
  const one = async (resourceType, searchParams) => {
    const found = matches(await link.search({ resourceType, searchParams }));
    if (found.length !== 1) throw new Error(`${resourceType}?${JSON.stringify(searchParams)}: ${found.length} found`);
    return found[0];
  };
  const patients = {};
  for (const given of ['Ann', 'Bob', 'Cara']) patients[given] = await one('Patient', { given });
  const orgs = {};
  for (const code of ['A81001', 'B82002', 'L0001', 'RH001', 'H0001', 'W0001']) {
    orgs[code] = await one('Organization', { identifier: `${ODS}|${code}` });
  }
  const ref = (r) => ({ reference: `${r.resourceType}/${r.id}` });
  const nhs = (name) => `${NHS}|${patients[name].identifier.find((i) => i.system === NHS).value}`;
  return { patients, orgs, ref, nhs };
}

/** The concern codes of a plan's activities or a referral's reasons. */
export function concerns(resource) {
  const reasons = resource.resourceType === 'CarePlan'
    ? (resource.activity ?? []).map((a) => a.detail?.reasonCode?.[0])
    : resource.reasonCode ?? [];
  return reasons.filter(Boolean).map((c) => c.coding[0].code);
}

export function redacted(resource) {
  return (resource.meta?.security ?? []).some((s) => s.code === 'REDACTED');
}

/** A PCSP activity addressing `concern` (in `domain`) by `performer`. */
export function activity(domain, concern, action, performer) {
  return {
    detail: {
      extension: [{ url: `${CANON}/StructureDefinition/concern-domain`, valueCoding: { system: `${CANON}/CodeSystem/hna-domain`, code: domain } }],
      reasonCode: [{ coding: [{ system: `${CANON}/CodeSystem/hna-concern`, code: concern }] }],
      status: 'not-started',
      code: { coding: [{ system: `${CANON}/CodeSystem/pcsp-action-type`, code: action }] },
      performer: [performer],
    },
  };
}

/** A completed HNA of `subject` by `author` (the HNA Questionnaire's items, as src/sample.rs). */
export function hna(subject, author, [breathing, practical, worry]) {
  const coding = (system, code) => [{ valueCoding: { system: `${CANON}/CodeSystem/${system}`, code } }];
  return {
    resourceType: 'QuestionnaireResponse',
    meta: { profile: [`${CANON}/StructureDefinition/hna-questionnaireresponse`] },
    questionnaire: `${CANON}/Questionnaire/hna`,
    status: 'completed',
    subject,
    author,
    authored: '2026-12-03T11:00:00Z',
    item: [
      { linkId: 'physical', item: [{ linkId: 'breathing', answer: [{ valueInteger: breathing }] }] },
      { linkId: 'practical', item: [
        { linkId: 'housing', answer: [{ valueInteger: practical }] },
        { linkId: 'money-finance', answer: [{ valueInteger: practical }] },
      ] },
      { linkId: 'emotional', item: [{ linkId: 'worry-fear-anxiety', answer: [{ valueInteger: worry }] }] },
      { linkId: 'distress-thermometer', answer: [{ valueInteger: worry }] },
      { linkId: 'what-matters-most', answer: [{ valueString: 'Keeping my flat' }] },
      { linkId: 'point-of-pathway', answer: coding('hna-point-of-pathway', 'end-of-treatment') },
      { linkId: 'setting', answer: coding('hna-setting', 'community') },
      { linkId: 'completed-by', answer: coding('hna-completed-by', 'together') },
    ],
  };
}

/** A PCSP CarePlan citing `hnaRef`, shared with the roles in `sharedWith`. */
export function plan(subject, author, hnaRef, activities, sharedWith = ['gp']) {
  return {
    resourceType: 'CarePlan',
    meta: { profile: [`${CANON}/StructureDefinition/pcsp-careplan`] },
    ...(sharedWith.length ? { extension: sharedWith.map((valueCode) => ({ url: `${CANON}/StructureDefinition/pcsp-shared-with`, valueCode })) } : {}),
    status: 'active',
    intent: 'plan',
    category: [{ coding: [{ system: 'http://snomed.info/sct', code: '734163000' }] }],
    title: 'Personalised care and support plan',
    description: 'Distress 8/10. What matters most: keeping my flat',
    subject,
    author,
    supportingInfo: [hnaRef],
    activity: activities,
  };
}

/** Status code of a failed fhir-kit-client call. */
export async function statusOf(promise) {
  try {
    await promise;
    return 200;
  } catch (e) {
    if (e.response?.status) return e.response.status;
    throw e;
  }
}
