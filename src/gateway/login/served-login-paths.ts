/** The paths of Synapse 1.163.2's `LoginRestServlet`: `^/_matrix/client/(api/v1|r0|v3|unstable)/login$`. */
const SERVED_LOGIN_PATHS: ReadonlySet<string> = new Set(
  ['api/v1', 'r0', 'v3', 'unstable'].map((prefix) => `/_matrix/client/${prefix}/login`),
);

/**
 * Whether Synapse executes a login at `rawPath` (a request the router routed `login`). The router
 * also routes `login` under `v1`, any `unstable/<vendor>` and with a trailing slash, so that a
 * later Synapse serving one of them cannot skip login interception; but Synapse 1.163.2 answers
 * them 404 without running its login, so its failed-login rate limit never counts them. Checking
 * the password there made them an unlimited oracle for policy passwords (router parity review,
 * F1): they are answered 404 before the body is read.
 */
export function isServedLoginPath(rawPath: string): boolean {
  return SERVED_LOGIN_PATHS.has(rawPath);
}
