import { App } from 'aws-cdk-lib';
import { addDeployChecks } from './checks';
import { readSettings } from './settings';
import { PryvApiStack } from './stack';

/**
 * `cdk synth|deploy [-c name=value …]`: the settings are in the README's "Deploying to AWS"
 * table; every one is optional and checked before anything is built (infra/settings.ts).
 */
const app = new App();
addDeployChecks(app);

const region = process.env.CDK_DEFAULT_REGION;
let settings: ReturnType<typeof readSettings>;
try {
  settings = readSettings(app.node.getAllContext(), region);
} catch (error) {
  console.error((error as Error).message); // the list of problems, without a stack trace
  process.exit(1);
}

new PryvApiStack(app, 'PryvApiStack', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region },
  ...settings,
});
