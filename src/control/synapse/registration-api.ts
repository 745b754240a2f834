import { createHmac } from 'node:crypto';
import { stringField } from './json-fields.js';
import type { SynapseHttp } from './synapse-http.js';

/** Input of {@link registerWithSharedSecret}. */
export interface SharedSecretRegistration {
  /** Localpart; Synapse lower-cases it. */
  username: string;
  password: string;
  admin: boolean;
}

/**
 * The MAC of shared-secret registration (synapse.md §1.3): lower-case hex HMAC-SHA1 keyed with
 * `registration_shared_secret` over `nonce \0 username \0 password \0 admin|notadmin`.
 */
export function registrationMac(registrationSharedSecret: string, nonce: string, username: string, password: string, admin: boolean): string {
  return createHmac('sha1', registrationSharedSecret)
    .update([nonce, username, password, admin ? 'admin' : 'notadmin'].join('\x00'), 'utf8')
    .digest('hex');
}

/**
 * Creates an account through Synapse's shared-secret registration: `GET` a nonce, then `POST` the
 * registration with its MAC (`inhibit_login`, so no session is opened). Needs no token; fails with
 * `M_USER_IN_USE` (400) when the account exists. Returns the MXID Synapse created.
 */
export async function registerWithSharedSecret(http: SynapseHttp, registrationSharedSecret: string, registration: SharedSecretRegistration): Promise<string> {
  const path = '/_synapse/admin/v1/register';
  const nonce = stringField(await http.requestObject({ call: 'admin.register.nonce', method: 'GET', path }), 'nonce', 'admin.register.nonce');
  const call = 'admin.register';
  const answer = await http.requestObject({
      call,
      method: 'POST',
      path,
      json: {
        nonce,
        username: registration.username,
        password: registration.password,
        admin: registration.admin,
        inhibit_login: true,
        mac: registrationMac(registrationSharedSecret, nonce, registration.username, registration.password, registration.admin),
      },
    });
  return stringField(answer, 'user_id', call);
}
