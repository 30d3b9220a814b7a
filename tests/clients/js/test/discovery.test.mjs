// Capability and SMART discovery with fhir-kit-client, then a client_credentials token from the
// discovered endpoint (simple-oauth2) that Riverside Surgery's GP system pulls its plans with.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientCredentials } from 'simple-oauth2';
import { base, clientFor, env, matches, root, statusOf } from '../lib/setup.mjs';

test('the CapabilityStatement is FHIR R4 and names the plan search, transactions and the token endpoint', async () => {
  const cap = await clientFor().capabilityStatement();
  assert.equal(cap.resourceType, 'CapabilityStatement');
  assert.equal(cap.fhirVersion, '4.0.1');
  const rest = cap.rest[0];
  const plan = rest.resource.find((r) => r.type === 'CarePlan');
  assert.ok(plan.searchParam.some((p) => p.name === 'patient'));
  assert.ok(rest.interaction.some((i) => i.code === 'transaction'));
  const uris = rest.security.extension.find((e) => e.url.endsWith('/oauth-uris'));
  assert.deepEqual(uris.extension, [{ url: 'token', valueUri: `${root}/auth/token` }]);
});

test('SMART discovery finds the token endpoint and no authorize endpoint', async () => {
  const smart = await clientFor().smartAuthMetadata();
  assert.equal(smart.tokenUrl.href, `${root}/auth/token`);
  assert.equal(smart.authorizeUrl, undefined);
});

test('without a token a search is refused with 401', async () => {
  assert.equal(await statusOf(clientFor().search({ resourceType: 'CarePlan' })), 401);
});

async function token(secret) {
  const { tokenUrl } = await clientFor().smartAuthMetadata();
  const oauth = new ClientCredentials({
    client: { id: env('CB_CLIENT_ID'), secret },
    auth: { tokenHost: tokenUrl.origin, tokenPath: tokenUrl.pathname },
  });
  return oauth.getToken({ scope: 'user/*.rs' });
}

test('a client_credentials token from the discovered endpoint pulls the practice\'s shared plans', async () => {
  const { token: granted } = await token(env('CB_CLIENT_SECRET'));
  assert.equal(granted.token_type, 'Bearer');
  assert.equal(granted.scope, 'user/*.rs');
  const app = clientFor();
  app.bearerToken = granted.access_token;
  const mine = matches(await app.search({ resourceType: 'CarePlan' })).map((p) => p.id).sort();
  const sample = matches(await clientFor('GP').search({ resourceType: 'CarePlan' })).map((p) => p.id).sort();
  assert.ok(mine.length >= 2);
  assert.deepEqual(mine, sample);
});

test('a wrong client secret gets no token', async () => {
  await assert.rejects(token('not-the-secret'), (e) => e.output.statusCode === 401 && e.data.payload.error === 'invalid_client');
});

test('the SMART configuration is served under the FHIR base too', async () => {
  const config = await clientFor().request(`${base}/.well-known/smart-configuration`);
  assert.equal(config.token_endpoint, `${root}/auth/token`);
  assert.deepEqual(config.grant_types_supported, ['client_credentials']);
});
