// Google's Node.js Cloud Run client (@google-cloud/run, REST transport) against the emulator.
//
// ORCHESTRA_EMULATOR_ENDPOINT names a running emulator (http://127.0.0.1:PORT); the suite resets it.
// Assertions follow what Google returns (tests/fixtures/google/ and the emulator's README): full
// revision names, LATEST traffic statuses without a revision, server-filled template defaults,
// `reconciling` while an operation runs, operations without `done` until they finish.
'use strict';

const assert = require('node:assert/strict');
const {before, test} = require('node:test');
const {ServicesClient, RevisionsClient} = require('@google-cloud/run').v2;
const {PassThroughClient} = require('google-auth-library');

const ENDPOINT = process.env.ORCHESTRA_EMULATOR_ENDPOINT;
const PARENT = 'projects/node-client/locations/europe-west1';
const SERVICE = `${PARENT}/services/node-app`;
const LATEST = 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST';
const REVISION = 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION';
// How long the emulator keeps an operation running, so that the running state can be seen.
const OPERATION_SECONDS = 0.5;

function clientOptions() {
  const url = new URL(ENDPOINT);
  return {
    fallback: true, // REST
    apiEndpoint: url.hostname,
    port: Number(url.port),
    protocol: url.protocol.replace(':', ''),
    authClient: new PassThroughClient(), // no credentials, no metadata server
  };
}

async function admin(path, body) {
  const response = await fetch(`${ENDPOINT}/_emulator/${path}`, {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify(body || {}),
  });
  assert.equal(response.status, 200, `/_emulator/${path}: ${await response.text()}`);
}

// The raw JSON of a GET, to see what the wire carries (the client fills every default in).
async function rawGet(name) {
  const response = await fetch(`${ENDPOINT}/v2/${name}`);
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return JSON.parse(text);
}

// Send the whole `service`, wait on the operation, and read the service again (an operation's
// response comes back with enums and int64 as numbers and Longs; a read has Google's JSON forms).
async function update(service) {
  const [operation] = await services.updateService({service});
  await operation.promise();
  const [updated] = await services.getService({name: service.name});
  return updated;
}

async function revisionNames(revisions) {
  const [found] = await revisions.listRevisions({parent: SERVICE});
  return found.map(revision => revision.name).sort();
}

// Google's error, e.g. {code: 404, status: 'NOT_FOUND', message}. Over REST this client line
// (google-gax 5) rejects with gaxios' error, whose message is the response body and whose `code` is
// the HTTP status; gax maps errors to gRPC codes only from its 6.x line, which needs Node 22.
async function rejects(promise, code, status, message) {
  await assert.rejects(promise, error => {
    const body = JSON.parse(error.message).error;
    assert.deepEqual([body.code, body.status], [code, status], error.message);
    assert.equal(error.code, code);
    if (message) {
      assert.match(body.message, message);
    }
    return true;
  });
}

let services;
let revisions;

before(async () => {
  assert.ok(ENDPOINT, 'ORCHESTRA_EMULATOR_ENDPOINT must name a running emulator');
  await admin('reset');
  await admin('config', {operation_seconds: OPERATION_SECONDS});
  services = new ServicesClient(clientOptions());
  revisions = new RevisionsClient(clientOptions());
});

test('create waits on its operation; the service reads back as Google shapes it', async () => {
  const [operation] = await services.createService({
    parent: PARENT,
    serviceId: 'node-app',
    service: {
      labels: {team: 'orchestra'},
      template: {containers: [{image: 'us-docker.pkg.dev/demo/app:1', env: [{name: 'MODE', value: 'blue'}]}]},
    },
  });
  const running = await rawGet(operation.name);
  assert.equal('done' in running, false, 'a running operation has no `done`');
  const [whileRunning] = await services.getService({name: SERVICE});
  assert.equal(whileRunning.reconciling, true);

  const [created] = await operation.promise();

  assert.equal(created.name, SERVICE);
  const [service] = await services.getService({name: SERVICE});
  assert.equal(service.reconciling, false);
  assert.equal(service.generation, '1');
  assert.equal(service.observedGeneration, '1');
  assert.match(service.latestReadyRevision, new RegExp(`^${SERVICE}/revisions/node-app-00001-[a-z0-9]{3}$`));
  assert.equal(service.latestCreatedRevision, service.latestReadyRevision);
  assert.equal(service.terminalCondition.state, 'CONDITION_SUCCEEDED');
  assert.deepEqual(service.traffic.map(t => [t.type, t.percent]), [[LATEST, 100]]);
  assert.deepEqual(service.trafficStatuses.map(s => [s.type, s.revision, s.percent]), [[LATEST, '', 100]]);
  const template = service.template;
  assert.deepEqual(template.containers[0].resources.limits, {cpu: '1000m', memory: '512Mi'});
  assert.equal(template.timeout.seconds, '300');
  assert.equal(template.maxInstanceRequestConcurrency, 80);
  assert.deepEqual(template.containers[0].env.map(e => [e.name, e.value]), [['MODE', 'blue']]);
});

test('list finds the service', async () => {
  const [found] = await services.listServices({parent: PARENT});
  assert.deepEqual(found.map(service => service.name), [SERVICE]);
});

test('operations are found by name and in the list, done with the service as response', async () => {
  const [operation] = await services.updateService({service: {name: SERVICE, labels: {team: 'core'}},
    updateMask: {paths: ['labels']}});
  await operation.promise();

  const [read] = await services.getOperation({name: operation.name});
  assert.equal(read.done, true);
  assert.equal(read.response.type_url, 'type.googleapis.com/google.cloud.run.v2.Service');
  const raw = await rawGet(operation.name);
  assert.equal(raw.done, true);
  assert.equal(raw.response['@type'], 'type.googleapis.com/google.cloud.run.v2.Service');
  assert.deepEqual(raw.response.labels, {team: 'core'});
  const listed = [];
  for await (const item of services.listOperationsAsync({name: PARENT})) {
    listed.push(item.name);
  }
  assert.ok(listed.includes(operation.name), `${operation.name} not in ${listed}`);
});

test('an update with the whole object read back makes no revision unless its template changed', async () => {
  const before = await revisionNames(revisions);
  const [read] = await services.getService({name: SERVICE});
  assert.equal(read.template.revision, '', 'the client fills unset fields with their defaults');

  read.labels = {...read.labels, release: 'r2'};
  const labelled = await update(read);

  assert.deepEqual(labelled.labels, {team: 'core', release: 'r2'});
  assert.equal(labelled.latestReadyRevision, read.latestReadyRevision);
  assert.deepEqual(await revisionNames(revisions), before);

  const [again] = await services.getService({name: SERVICE});
  again.template.containers[0].env.push({name: 'COLOUR', value: 'green'});
  const changed = await update(again);

  const after = await revisionNames(revisions);
  assert.equal(after.length, before.length + 1);
  assert.notEqual(changed.latestReadyRevision, again.latestReadyRevision);
  assert.ok(after.includes(changed.latestReadyRevision));
  assert.equal(changed.generation, String(Number(again.generation) + 1));
});

test('traffic split with a tag: the tag has its URL in trafficStatuses', async () => {
  const [service] = await services.getService({name: SERVICE});
  const names = await revisionNames(revisions);
  const older = names.find(name => name !== service.latestReadyRevision);
  const olderId = older.split('/').pop();
  service.traffic = [
    {type: LATEST, percent: 90},
    {type: REVISION, revision: olderId, percent: 10, tag: 'previous'},
  ];

  const split = await update(service);

  const statuses = split.trafficStatuses.map(s => [s.type, s.revision, s.percent, s.tag]);
  assert.deepEqual(statuses, [[LATEST, '', 90, ''], [REVISION, olderId, 10, 'previous']]);
  const tagged = split.trafficStatuses[1];
  assert.match(tagged.uri, /^https?:\/\//);
  const answer = await (await fetch(tagged.uri)).json();
  assert.equal(answer.revision, olderId);
});

test('errors carry Google\'s codes', async () => {
  const [service] = await services.getService({name: SERVICE});

  await rejects(
    services.updateService({service: {...service, traffic: [{type: LATEST, percent: 90}]}}),
    400, 'INVALID_ARGUMENT', /Traffic targets sum to 90, want 100/);
  await rejects(services.getService({name: `${PARENT}/services/missing`}), 404, 'NOT_FOUND',
    /Resource 'missing' of kind 'SERVICE' in region 'europe-west1' in project 'node-client' does not exist/);
  const stale = {...service, etag: '"stale"', labels: {team: 'other'}};
  await rejects(services.updateService({service: stale}), 409, 'ABORTED');
  const serving = service.trafficStatuses.find(s => s.tag === 'previous').revision;
  await rejects(revisions.deleteRevision({name: `${SERVICE}/revisions/${serving}`}), 400, 'FAILED_PRECONDITION');

  const [unchanged] = await services.getService({name: SERVICE});
  assert.equal(unchanged.etag, service.etag, 'a rejected call changes nothing');
});

test('delete removes the service and its revisions', async () => {
  const [operation] = await services.deleteService({name: SERVICE});
  const [deleted] = await operation.promise();

  assert.equal(deleted.name, SERVICE);
  await rejects(services.getService({name: SERVICE}), 404, 'NOT_FOUND');
  await rejects(revisions.listRevisions({parent: SERVICE}), 404, 'NOT_FOUND');
});
