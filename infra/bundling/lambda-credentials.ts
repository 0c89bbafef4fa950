/**
 * Bundled in place of `@aws-sdk/credential-provider-node` (the alias of every function's build: function-code.ts):
 * Lambda hands a function its role's credentials in environment variables only, so the SDK's
 * default chain (SSO, INI files, STS web identity, IMDS, each with its own nested client)
 * is 130 KB of every bundle that can never be used. Locally the bundles get variables too
 * (infra/local/runtime.ts).
 */
export { fromEnv as defaultProvider } from '@aws-sdk/credential-provider-env';
