import { EnvReader } from './env';

/** The `session` namespace: how long a sign-in lasts. */
export interface SessionNamespace {
  idleTimeoutSeconds: number;
  absoluteTimeoutSeconds: number;
}

/** SESSION_IDLE_TIMEOUT, SESSION_ABSOLUTE_TIMEOUT. */
export function parseSession(read: EnvReader): SessionNamespace {
  const session = {
    idleTimeoutSeconds: read.int('SESSION_IDLE_TIMEOUT', 2 * 3600, 60, 30 * 86400),
    absoluteTimeoutSeconds: read.int('SESSION_ABSOLUTE_TIMEOUT', 12 * 3600, 60, 90 * 86400),
  };
  if (session.absoluteTimeoutSeconds < session.idleTimeoutSeconds) {
    read.problems.push('SESSION_ABSOLUTE_TIMEOUT: must not be shorter than SESSION_IDLE_TIMEOUT');
  }
  return session;
}
