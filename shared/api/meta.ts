import { API_VERSION, config } from '../config';

/** `meta` of every answer, over HTTP and sockets (spec §1.5). */
export function meta(): { apiVersion: string; serverTime: number; serial: string } {
  return { apiVersion: API_VERSION, serverTime: Date.now() / 1000, serial: config().serial };
}
