// Drives one run through the official @wandb/sdk (resolved from the repository root's
// node_modules) exactly as a user script would: init with a config, N x wandb.log, finish.
//
// Input (environment):
//   WANDB_BASE_URL, WANDB_API_KEY   read by the SDK itself
//   E2E_PROJECT, E2E_ENTITY         where the run goes
//   E2E_STEPS                       how many steps to log
//   E2E_SPIKE_STEP                  the one step where `loss` spikes
//   E2E_ROWS_FILE                   where to write the rows as logged (JSON lines, with _step)
// Output: the last stdout line is {"runId", "entity", "project", "steps", "spikeStep"}.
import { writeFileSync } from 'node:fs';
import wandb from '@wandb/sdk';

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set`);
  }
  return value;
}

const project = required('E2E_PROJECT');
const entity = required('E2E_ENTITY');
const steps = Number.parseInt(required('E2E_STEPS'), 10);
const spikeStep = Number.parseInt(required('E2E_SPIKE_STEP'), 10);
const rowsFile = required('E2E_ROWS_FILE');

// Deterministic, irregular values: every digit of every double must survive the trip.
function row(step) {
  const loss = step === spikeStep ? 1234.5 : 1 / (1 + step * 0.01) + 0.01 * Math.sin(step * 0.7);
  return {
    loss,
    accuracy: 1 - Math.exp(-step / 50) * (1 + 0.001 * Math.cos(step)),
    nested: { lr: 0.01 * Math.pow(0.9995, step), grad: { norm: 1 / (step + 1) } },
  };
}

const run = await wandb.init({
  project,
  entity,
  config: { lr: 0.01, arch: { layers: 3, act: 'relu' } },
});

const logged = [];
for (let step = 0; step < steps; step += 1) {
  const data = row(step);
  logged.push(JSON.stringify({ ...data, _step: step }));
  wandb.log(data);
}
await wandb.finish();

writeFileSync(rowsFile, logged.join('\n') + '\n');
console.log(JSON.stringify({ runId: run.id, entity: run.entity, project: run.project, steps, spikeStep }));
