import { App } from 'aws-cdk-lib';
import { PryvApiStack } from './stack';

/**
 * `cdk synth|deploy [-c publicUrl=https://… -c trustedApps=… -c serviceName=… -c invitationTokens=… -c mailFrom=… -c memorySize=512]`
 * Every setting is optional; unset ones keep the defaults of shared/config.ts.
 */
const app = new App();

const context = (name: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(name);
  return value === undefined || value === null || value === '' ? undefined : String(value);
};
const memorySize = context('memorySize');
if (memorySize !== undefined && !/^\d+$/.test(memorySize)) throw new Error(`memorySize must be a number of MB, got ${memorySize}`);

new PryvApiStack(app, 'PryvApiStack', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  publicUrl: context('publicUrl'),
  trustedApps: context('trustedApps'),
  serviceName: context('serviceName'),
  invitationTokens: context('invitationTokens'),
  mailFrom: context('mailFrom'),
  memorySize: memorySize === undefined ? undefined : Number(memorySize),
});
