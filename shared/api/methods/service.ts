import { API_VERSION, type Config } from '../../config';
import { defineMethod } from '../types';

/** Service info (spec §1.2), in the single-node "dnsLess" layout. */
export function serviceInfoFor(c: Config): Record<string, unknown> {
  return {
    api: `${c.publicUrl}/{username}/`,
    access: `${c.publicUrl}/reg/access/`,
    register: `${c.publicUrl}/reg/`,
    name: c.serviceName,
    home: c.home,
    support: c.support,
    terms: c.terms,
    // Ours (clients ignore unknown fields): what the web pages show besides name, home,
    // support and terms, and the account rules the account app explains to its user.
    privacy: c.privacy,
    branding: c.branding,
    accountPolicy: {
      deletionByUser: c.accountDeletion.includes('personalToken'),
      auditOnDeletion: c.auditOnAccountDeletion,
      auditRetentionDays: c.auditRetentionDays,
      // Seconds a sign-in session lasts after its last use: how the account app tells ended sessions.
      sessionMaxAge: c.sessionMaxAgeS,
    },
    eventTypes: c.eventTypesUrl,
    serial: c.serial,
    version: API_VERSION,
    assets: { definitions: c.assetsUrl },
    // HF series are served (Pryv API reference §2.2.7): no `noHF` flag; content queries on events.get are.
    features: { contentQueries: true },
  };
}

export const serviceInfo = /* @__PURE__ */ defineMethod({
  id: 'service.info',
  routes: [
    { verb: 'GET', path: '/service/info' },
    { verb: 'GET', path: '/service/infos' },
    { verb: 'GET', path: '/reg/service/info' },
    { verb: 'GET', path: '/reg/service/infos' },
    { verb: 'GET', path: '/{username}/service/info' },
    { verb: 'GET', path: '/{username}/service/infos' },
  ],
  auth: 'none',
  batchable: true,
  params: { type: 'object' },
  run: async (ctx) => serviceInfoFor(ctx.config),
});

/** `GET /` and `GET /{username}/`: the greeting (spec §1.1). */
export const serviceGreeting = /* @__PURE__ */ defineMethod({
  id: 'service.greeting',
  routes: [
    { verb: 'GET', path: '/' },
    { verb: 'GET', path: '/{username}' },
  ],
  auth: 'none',
  batchable: false,
  params: { type: 'object' },
  run: async () => ({ cheersFrom: 'Pryv API', learnMoreAt: 'https://pryv.github.io/' }),
});
