import { type App, CloudFormationValidatePlugin, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks } from 'cdk-nag';

/**
 * Context every synth of the stack runs with (cdk.json holds the same, test/infra reads it):
 * the template checks of CloudFormation Validate (AWS's resource schemas and the cfn-lint
 * rules, offline, built into aws-cdk-lib) fail the synth on errors, and on warnings too.
 */
export const STRICT_VALIDATION_CONTEXT = {
  '@aws-cdk/core:validateAgainstDefaultRules': true,
  '@aws-cdk/core:strictCfnValidateErrors': true,
} as const;

/**
 * What `cdk synth` checks: the template (CloudFormation Validate) and the AWS Solutions and
 * HIPAA Security rule packs of cdk-nag. A finding fails the synth unless acknowledged on the
 * construct it concerns, with its reason (infra/constructs/acknowledge.ts).
 */
export function addDeployChecks(app: App): void {
  Validations.of(app).addPlugins(TEMPLATE_VALIDATION, new AwsSolutionsChecks(app), new HIPAASecurityChecks(app));
}

/**
 * CloudFormation Validate, registered explicitly so that `--no-validation` or CDK_VALIDATION=false
 * cannot skip it; one instance for the process, as its engine takes seconds to compile.
 */
const TEMPLATE_VALIDATION = new CloudFormationValidatePlugin();
