import { accessForApi } from '../../domain/accesses/view';
import { callerOf } from '../caller';
import { ALL_ACCESS_TYPES, defineMethod } from '../types';

/** `getAccessInfo` (spec §2.1): the calling access, its calls counters and its user. */
export const getAccessInfo = /* @__PURE__ */ defineMethod({
  id: 'getAccessInfo',
  routes: [{ verb: 'GET', path: '/{username}/access-info' }],
  auth: 'token',
  accessTypes: ALL_ACCESS_TYPES,
  params: { type: 'object' },
  run: async (ctx) => {
    const { access, username, config } = callerOf(ctx);
    const view = accessForApi(access, config.publicUrl, username, { withCalls: true });
    delete view.apiEndpoint;
    return { ...view, user: { username } };
  },
});
