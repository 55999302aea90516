// Logs a multi-file artifact twice and downloads it, speaking GraphQL and Blob SAS URLs with
// fetch exactly as the W&B clients do (the requests of Python 0.16.6's log_artifact /
// use_artifact / download, in order). The second version changes two of the files; only those
// may be uploaded (content-addressed dedup answers uploadUrl: null for the rest).
//
// Input (environment):
//   WANDB_BASE_URL, WANDB_API_KEY   the server and the key (Basic api:<key>)
//   E2E_PROJECT, E2E_ENTITY         where the run and the artifact go
//   E2E_FILES                       how many files the artifact holds (default 10)
// Output: the last stdout line is
//   {"collection", "versions": [{"id", "state", "puts", "digest"}...], "downloaded": {"v0": n, "v1": n}, "mismatches": [...]}.
import { createHash, randomUUID } from 'node:crypto';

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set`);
  }
  return value;
}

const baseUrl = required('WANDB_BASE_URL').replace(/\/$/, '');
const apiKey = required('WANDB_API_KEY');
const project = required('E2E_PROJECT');
const entity = required('E2E_ENTITY');
const fileCount = Number.parseInt(process.env.E2E_FILES ?? '10', 10);
const collection = 'e2e-dataset';
const run = `art${Date.now().toString(36)}`;
const auth = 'Basic ' + Buffer.from(`api:${apiKey}`).toString('base64');

async function graphql(query, variables) {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { Authorization: auth, 'Content-Type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`GraphQL HTTP ${response.status}: ${text}`);
  }
  const body = JSON.parse(text);
  if (body.errors) {
    throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  }
  return body.data;
}

const md5 = (bytes) => createHash('md5').update(bytes).digest('base64');

// Python's _manifest digest: hex MD5 of the header and "path:digest\n" per entry, sorted by path.
function artifactDigest(files) {
  const hash = createHash('md5').update('wandb-artifact-manifest-v1\n');
  for (const path of Object.keys(files).sort()) {
    hash.update(`${path}:${md5(files[path])}\n`);
  }
  return hash.digest('hex');
}

function manifest(files, birthIds) {
  const contents = {};
  for (const path of Object.keys(files).sort()) {
    contents[path] = { digest: md5(files[path]), birthArtifactID: birthIds[path], size: files[path].length };
  }
  return Buffer.from(JSON.stringify({ version: 1, storagePolicy: 'wandb-storage-policy-v1', storagePolicyConfig: { storageLayout: 'V2' }, contents }, null, 4));
}

// A PUT with the upload headers as given ("Name:Value"), like the clients' upload_file.
async function put(url, bytes, headers) {
  const extra = Object.fromEntries((headers ?? []).map((h) => [h.slice(0, h.indexOf(':')), h.slice(h.indexOf(':') + 1)]));
  const response = await fetch(url, { method: 'PUT', headers: extra, body: bytes });
  if (!response.ok) {
    throw new Error(`PUT ${url.split('?')[0]}: ${response.status} ${await response.text()}`);
  }
}

const CreateArtifact = `mutation CreateArtifact($artifactTypeName: String!, $artifactCollectionNames: [String!], $entityName: String!, $projectName: String!, $runName: String, $description: String, $digest: String!, $aliases: [ArtifactAliasInput!], $metadata: JSONString, $historyStep: Int64!, $clientID: ID, $sequenceClientID: ID) {
  createArtifact(input: {artifactTypeName: $artifactTypeName, artifactCollectionNames: $artifactCollectionNames, entityName: $entityName, projectName: $projectName, runName: $runName, description: $description, digest: $digest, digestAlgorithm: MANIFEST_MD5, aliases: $aliases, metadata: $metadata, historyStep: $historyStep, clientID: $clientID, sequenceClientID: $sequenceClientID, enableDigestDeduplication: true}) {
    artifact { id state artifactSequence { id latestArtifact { id versionIndex } } }
  }
}`;
const CreateArtifactManifest = `mutation CreateArtifactManifest($name: String!, $digest: String!, $artifactID: ID!, $baseArtifactID: ID, $entityName: String!, $projectName: String!, $runName: String!, $includeUpload: Boolean!) {
  createArtifactManifest(input: {name: $name, digest: $digest, artifactID: $artifactID, baseArtifactID: $baseArtifactID, entityName: $entityName, projectName: $projectName, runName: $runName}) {
    artifactManifest { id file { id name displayName uploadUrl @include(if: $includeUpload) uploadHeaders @include(if: $includeUpload) } }
  }
}`;
const CreateArtifactFiles = `mutation CreateArtifactFiles($storageLayout: ArtifactStorageLayout!, $artifactFiles: [CreateArtifactFileSpecInput!]!) {
  createArtifactFiles(input: {artifactFiles: $artifactFiles, storageLayout: $storageLayout}) {
    files { edges { node { id name displayName uploadUrl uploadHeaders artifact { id } } } }
  }
}`;
const CommitArtifact = `mutation CommitArtifact($artifactID: ID!) { commitArtifact(input: {artifactID: $artifactID}) { artifact { id digest } } }`;
const UseArtifact = `mutation UseArtifact($entityName: String!, $projectName: String!, $runName: String!, $artifactID: ID!, $usedAs: String) {
  useArtifact(input: {entityName: $entityName, projectName: $projectName, runName: $runName, artifactID: $artifactID, usedAs: $usedAs}) { artifact { id digest } }
}`;
const ArtifactByName = `query ArtifactByName($entityName: String!, $projectName: String!, $name: String!) {
  project(name: $projectName, entityName: $entityName) { artifact(name: $name) { id versionIndex state aliases { alias } currentManifest { file { directUrl } } } }
}`;
const ArtifactFileURLs = `query ArtifactFileURLs($id: ID!, $cursor: String, $perPage: Int) {
  artifact(id: $id) { files(after: $cursor, first: $perPage) { pageInfo { hasNextPage endCursor } edges { node { name directUrl } } } }
}`;

async function logArtifact(files) {
  const digest = artifactDigest(files);
  const created = (await graphql(CreateArtifact, {
    artifactTypeName: 'dataset', artifactCollectionNames: [collection], entityName: entity, projectName: project, runName: run,
    description: null, digest, aliases: [{ artifactCollectionName: collection, alias: 'latest' }], metadata: '{"source": "e2e-js"}',
    historyStep: 0, clientID: randomUUID(), sequenceClientID: randomUUID(),
  })).createArtifact.artifact;
  if (created.state === 'COMMITTED') {
    return { id: created.id, state: created.state, puts: 0, digest };
  }
  const manifestId = (await graphql(CreateArtifactManifest, { name: 'wandb_manifest.json', digest: '', artifactID: created.id, baseArtifactID: created.artifactSequence.latestArtifact?.id ?? null, entityName: entity, projectName: project, runName: run, includeUpload: false })).createArtifactManifest.artifactManifest.id;
  const paths = Object.keys(files);
  const edges = (await graphql(CreateArtifactFiles, {
    storageLayout: 'V2',
    artifactFiles: paths.map((name) => ({ artifactID: created.id, artifactManifestID: manifestId, name, md5: md5(files[name]) })),
  })).createArtifactFiles.files.edges;
  if (edges.length !== paths.length) {
    throw new Error(`createArtifactFiles answered ${edges.length} files for ${paths.length}`);
  }
  let puts = 0;
  const birthIds = {};
  for (const [i, { node }] of edges.entries()) {
    if (node.name !== paths[i]) {
      throw new Error(`createArtifactFiles answer ${i} is ${node.name}, not ${paths[i]}`);
    }
    birthIds[node.name] = node.artifact.id;
    if (node.uploadUrl) {
      await put(node.uploadUrl, files[node.name], node.uploadHeaders);
      puts++;
    }
  }
  const manifestBytes = manifest(files, birthIds);
  const file = (await graphql(CreateArtifactManifest, { name: 'wandb_manifest.json', digest: md5(manifestBytes), artifactID: created.id, baseArtifactID: null, entityName: entity, projectName: project, runName: run, includeUpload: true })).createArtifactManifest.artifactManifest.file;
  await put(file.uploadUrl, manifestBytes, file.uploadHeaders);
  const committed = (await graphql(CommitArtifact, { artifactID: created.id })).commitArtifact.artifact;
  if (committed.digest !== digest) {
    throw new Error(`committed digest ${committed.digest}, expected ${digest}`);
  }
  return { id: created.id, state: created.state, puts, digest };
}

// use_artifact + download: resolve by name, record the use, read the manifest, fetch every file.
async function download(name, expected) {
  const artifact = (await graphql(ArtifactByName, { entityName: entity, projectName: project, name })).project.artifact;
  await graphql(UseArtifact, { entityName: entity, projectName: project, runName: run, artifactID: artifact.id, usedAs: name });
  const manifestJson = await (await fetch(artifact.currentManifest.file.directUrl)).json();
  const mismatches = [];
  let fetched = 0;
  let cursor = null;
  for (;;) {
    const page = (await graphql(ArtifactFileURLs, { id: artifact.id, cursor, perPage: 4 })).artifact.files;
    for (const { node } of page.edges) {
      const bytes = Buffer.from(await (await fetch(node.directUrl)).arrayBuffer());
      fetched++;
      if (!expected[node.name] || !bytes.equals(expected[node.name]) || manifestJson.contents[node.name]?.digest !== md5(bytes)) {
        mismatches.push(`${name}/${node.name}`);
      }
    }
    if (!page.pageInfo.hasNextPage) {
      break;
    }
    cursor = page.pageInfo.endCursor;
  }
  if (fetched !== Object.keys(expected).length) {
    mismatches.push(`${name}: ${fetched} files for ${Object.keys(expected).length}`);
  }
  return { fetched, mismatches };
}

const UpsertBucket = `mutation UpsertBucket($name: String, $project: String, $entity: String, $config: JSONString) {
  upsertBucket(input: {name: $name, modelName: $project, entityName: $entity, config: $config}) { bucket { id name } inserted }
}`;
await graphql(UpsertBucket, { name: run, project, entity, config: '{}' });

const first = {};
for (let i = 0; i < fileCount; i++) {
  first[`data/part-${String(i).padStart(3, '0')}.csv`] = Buffer.from(`id,value\n${i},${(i * 7919) % 1000}\n`.repeat(20 + i));
}
const second = { ...first };
const changed = [Math.floor(fileCount / 3), Math.floor((2 * fileCount) / 3)];
for (const i of changed) {
  second[`data/part-${String(i).padStart(3, '0')}.csv`] = Buffer.from(`id,value\n${i},changed\n`);
}
const v0 = await logArtifact(first);
const v1 = await logArtifact(second);
const again = await logArtifact(second);
const d0 = await download(`${collection}:v0`, first);
const d1 = await download(`${collection}:latest`, second);
console.log(JSON.stringify({ collection, run, versions: [v0, v1, again], changed: changed.length, downloaded: { v0: d0.fetched, latest: d1.fetched }, mismatches: [...d0.mismatches, ...d1.mismatches] }));
