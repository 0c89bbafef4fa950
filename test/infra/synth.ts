import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type NestedStack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { addDeployChecks } from '../../infra/checks';
import { readSettings } from '../../infra/settings';
import { PryvApiStack } from '../../infra/stack';

/** The context `cdk synth` runs with (cdk.json: feature flags, strict template validation). */
export const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(readFileSync(join(process.cwd(), 'cdk.json'), 'utf8')).context;

/**
 * A folder of its own for an app a test synthesizes (an App without one writes a `cdk.out*`
 * folder under the system's temp dir and leaves it there), under the test file's temp folder,
 * which ./setup.ts removes after the file.
 */
export function testOutdir(): string {
  const base = process.env.PRYV_INFRA_TEST_DIR;
  if (!base) throw new Error('PRYV_INFRA_TEST_DIR is unset: test/infra/setup.ts runs before each infra test file (vitest.config.ts)');
  return mkdtempSync(join(base, 'cdk.out-'));
}

/**
 * An app as `cdk synth` makes it, without bundling (80+ esbuild runs take minutes): cdk.json's
 * context, and synthesis that records the checks' findings instead of stopping at the first
 * report, so a test can list them.
 */
export function testApp(context: Record<string, unknown> = {}): App {
  return new App({
    outdir: testOutdir(),
    context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], '@aws-cdk/core:failSynthOnValidationErrors': false, ...context },
  });
}

/** One finding of the deploy checks, as `rule at construct path`. */
export type Finding = string;

export interface Synthesized {
  stack: PryvApiStack;
  template: Template;
  logGroups: Template;
  /** The nested stack of alarms and the dashboard. */
  monitoring: Template;
  /** What cdk-nag (AWS Solutions, HIPAA Security) and CloudFormation Validate reported, unacknowledged. */
  findings: Finding[];
}

/**
 * Synthesizes the stack once, with the deploy checks `cdk synth` runs (infra/checks.ts) and
 * the settings read as infra/app.ts reads them from the context.
 */
export function synthesize(settings: Record<string, string> = {}, region = 'eu-central-1', id = 'TestStack'): Synthesized {
  const app = testApp(settings);
  addDeployChecks(app);
  const stack = new PryvApiStack(app, id, { env: { account: '123456789012', region }, ...readSettings(settings, region) });
  const assembly = app.synth();
  const template = Template.fromJSON(assembly.getStackArtifact(stack.artifactId).template);
  const nestedTemplate = (id: string) =>
    Template.fromJSON(JSON.parse(readFileSync(join(assembly.directory, (stack.node.findChild(id) as NestedStack).templateFile), 'utf8')));
  const logGroups = nestedTemplate('LogGroups');
  const monitoring = nestedTemplate('Monitoring');
  type Report = {
    pluginReports: Array<{
      pluginName: string;
      violations: Array<{ ruleName: string; violatingConstructs?: Array<{ constructPath?: string }> }>;
    }>;
  };
  const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as Report;
  const findings = report.pluginReports.flatMap((plugin) =>
    plugin.violations.flatMap((v) =>
      (v.violatingConstructs ?? [{}]).map((c) => `${plugin.pluginName}: ${v.ruleName} at ${c.constructPath ?? '(stack)'}`),
    ),
  );
  return { stack, template, logGroups, monitoring, findings };
}
