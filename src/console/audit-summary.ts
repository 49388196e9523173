import { AUDIT_EVENT_TYPES, isRefusal, reasonInWords } from '../audit/audit-vocabulary';

/** What the audit page knows besides the events: names for the ids they carry. */
export interface AuditNames {
  /** user id -> email (operators are users of the operators tenant). */
  users: Map<string, string>;
  /** API key id -> key name. */
  apiKeys: Map<string, string>;
  /** target slug -> e.g. "Metabase target mb". */
  targets: Map<string, string>;
}

/** The ids the actors name, by kind, to resolve in one query per kind for a whole page. */
export function actorIds(actors: string[]): { users: string[]; apiKeys: string[] } {
  const users = new Set<string>();
  const apiKeys = new Set<string>();
  for (const a of actors) {
    if (a.startsWith('user:')) users.add(a.slice(5));
    else if (a.startsWith('apikey:')) apiKeys.add(a.slice(7));
  }
  return { users: [...users], apiKeys: [...apiKeys] };
}

/** The actor for a person: an email, an API key's name, "system", "anonymous", a hand-off's tenant. */
export function actorName(actor: string, names: AuditNames): string {
  if (actor.startsWith('user:')) return names.users.get(actor.slice(5)) ?? `deleted user ${actor.slice(5, 13)}…`;
  if (actor.startsWith('apikey:')) {
    const name = names.apiKeys.get(actor.slice(7));
    return name ? `API key “${name}”` : `deleted API key ${actor.slice(7, 15)}…`;
  }
  if (actor.startsWith('handoff:')) return `hand-off from ${actor.slice(8)}`;
  return actor;
}

const text = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);

/**
 * One line for a person: who did what, to what ("ada@acme.test signed in to Metabase target
 * mb", "refused: no access — ada@acme.test, target mb"). The raw details stay one click away.
 */
export function summarize(e: { type: string; actor: string; details: Record<string, unknown> }, names: AuditNames): string {
  const d = e.details ?? {};
  const who = actorName(e.actor, names);
  const target = text(d.target);
  const targetWords = target ? (names.targets.get(target) ?? `target ${target}`) : null;
  const email = text(d.email);
  if (isRefusal(e.type)) {
    const what = (AUDIT_EVENT_TYPES[e.type] ?? e.type).replace(/^refused: /, '');
    const about = [email ?? (e.actor === 'anonymous' ? null : who), targetWords].filter(Boolean).join(', ');
    return `refused (${what}): ${reasonInWords(text(d.reason) ?? (e.type === 'handoff.replay' ? 'replay' : null))}${about ? ` — ${about}` : ''}`;
  }
  switch (e.type) {
    case 'login.success':
      return `${email ?? who} signed in${text(d.via) ? ` (${text(d.via)})` : ''}`;
    case 'sso.token_issued':
      return `${who} signed in to ${targetWords ?? 'a BI target'}`;
    case 'embed.issued':
    case 'token.issued':
    case 'broker.token_issued':
      return `${who}: ${AUDIT_EVENT_TYPES[e.type]}${targetWords ? ` for ${targetWords}` : ''}`;
  }
  const described = AUDIT_EVENT_TYPES[e.type] ?? e.type;
  const subject = email ?? text(d.name) ?? text(d.slug) ?? targetWords;
  return `${who}: ${described}${subject ? ` — ${subject}` : ''}`;
}
