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
const settings = readSettings(app.node.getAllContext(), region);

new PryvApiStack(app, 'PryvApiStack', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region },
  ...settings,
});
