import { announceServiceBoot } from '../../shared/notify/webhook-delivery';

/**
 * Tells every active webhook the service (re)started (spec §6.2, `webhooksServiceBoot`): run
 * by a CDK trigger after each deployment that changes it; locally at `npm start`.
 */
export async function handler(): Promise<{ users: number }> {
  return { users: await announceServiceBoot() };
}
