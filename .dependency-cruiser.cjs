/**
 * The dependency rules of the code (README "How the code is laid out"), checked by
 * test/unit/dependency-rules.test.ts: no import circle, and every import points down the
 * layers below, never up. A module may import its own layer and any lower one.
 *
 *   core        shared/{config,errors,log,ids,validation,limits,sdk-calls,aws-http,http1}.ts
 *   model       shared/model/        persisted shapes
 *   store       shared/store/        DynamoDB and S3: keys and SDK calls
 *   adapters    shared/adapters/     the other services: Secrets Manager, mail, @connections, webhook calls
 *   domain      shared/domain/       the rules and use cases
 *   api         shared/api/          method declarations, the one execution path, the registry
 *   transports  shared/{http,socketio,notify}/   none imports another
 *   functions   functions/           Lambda entry points
 *   infra       infra/               the CDK app; infra/local runs everything on one machine
 */
const LAYERS = [
  { name: 'core', path: '^shared/(config|errors|log|ids|validation|limits|sdk-calls|aws-http|http1)\\.ts$' },
  { name: 'model', path: '^shared/model/' },
  { name: 'store', path: '^shared/store/' },
  { name: 'adapters', path: '^shared/adapters/' },
  { name: 'domain', path: '^shared/domain/' },
  { name: 'api', path: '^shared/api/' },
  { name: 'transports', path: '^shared/(http|socketio|notify)/' },
  { name: 'functions', path: '^functions/' },
  { name: 'infra', path: '^infra/' },
];

/** Layers that sit side by side: neither may import the other. */
const SIDE_BY_SIDE = [
  ['store', 'adapters'],
  ['http', 'socketio', 'notify'],
];

const upward = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `${layer.name}-imports-upward`,
  comment: `${layer.name} may import only its own layer and the ones below it (${
    LAYERS.slice(0, i)
      .map((l) => l.name)
      .join(', ') || 'none'
  }).`,
  severity: 'error',
  from: { path: layer.path },
  to: { path: LAYERS.slice(i + 1).map((l) => l.path) },
}));

const sideways = SIDE_BY_SIDE.flatMap((group) =>
  group.map((name) => ({
    name: `${name}-imports-a-sibling`,
    comment: `${name} may not import ${group.filter((other) => other !== name).join(' or ')}.`,
    severity: 'error',
    from: { path: `^shared/${name}/` },
    to: { path: group.filter((other) => other !== name).map((other) => `^shared/${other}/`) },
  })),
);

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import circle: one of its modules must get what it needs passed in, or a shared part must move down.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...upward,
    ...sideways,
    {
      name: 'production-stack-uses-no-emulator',
      comment: 'The CDK app, stack and constructs deploy to AWS: they may not import the local runtime (infra/local/).',
      severity: 'error',
      from: { path: '^infra/', pathNot: '^infra/local/' },
      to: { path: '^infra/local/' },
    },
    {
      name: 'registry-only-at-the-top',
      comment:
        'The registry imports every method: only entry points (functions/, infra/) may import it; ' +
        'shared code that needs to find methods gets the lookup passed in.',
      severity: 'error',
      from: { path: '^shared/', pathNot: '^shared/api/registry\\.ts$' },
      to: { path: '^shared/api/registry\\.ts$' },
    },
  ],
  options: {
    includeOnly: '^(shared|functions|infra)/',
    exclude: { path: '^shared/web/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
