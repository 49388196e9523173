import express, { Request, Response } from 'express';
import { createHmac, timingSafeEqual } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';

/**
 * A fake Looker instance accepting signed embed URLs as Looker's "Signed embedding" docs
 * describe them. Its own reading of the docs, not the code that signs our URLs:
 *
 *   GET /login/embed/<url-encoded embed URL>?nonce=&time=&session_length=&external_user_id=
 *       &permissions=&models=&group_ids=&external_group_id=&user_attributes=&access_filters=
 *       &first_name=&last_name=&force_logout_login=&signature=
 *
 * - every parameter value is JSON; nonce, time, session_length, external_user_id,
 *   permissions, models, access_filters and signature are required;
 * - the signature is Base64(HMAC-SHA1(embed secret, string_to_sign)), where string_to_sign
 *   is, one per line: the host (as Looker knows itself, with a non-default port), the
 *   embed path (`/login/embed/` + the encoded embed URL, as requested), then the JSON of
 *   nonce, time, session_length, external_user_id, permissions, models, group_ids,
 *   external_group_id, user_attributes and access_filters — an optional one (group_ids,
 *   external_group_id, user_attributes) only when the URL has it;
 * - the nonce (a string of at most 255 characters) is refused the second time; `time` more
 *   than 5 minutes from the clock is refused; session_length is 1 s to 30 days;
 *   permissions are Looker's embed permissions (at least one); models at least one, each
 *   one the instance has; group_ids numbers; user_attributes and access_filters objects;
 * - the embed URL is a path under /embed/.
 *
 * On success: the embedded page. When the embed URL names an `embed_domain`, it connects to
 * its parent as Looker's pages do for @looker/embed-sdk (the chatty handshake: Syn with a
 * MessagePort, SynAck, Ack, then messages `page:changed`, `dashboard:loaded` and
 * `dashboard:run:complete`), posting only to that origin. Refusals: 401 with the reason.
 */
export interface FakeLookerOptions {
  secret: string;
  /** The host name the instance knows itself by (default 127.0.0.1); the port is added. */
  hostname?: string;
  models?: string[];
  /** Serve HTTPS with this key and certificate (the embed-sdk only frames https://<host>). */
  tls?: { key: string; cert: string };
  now?: () => number;
}

export interface LookerEmbed {
  /** The decoded embed URL, e.g. /embed/dashboards/7?embed_domain=... */
  embedUrl: string;
  params: Record<string, unknown>;
}

export interface FakeLooker {
  url: string;
  /** host[:port], as the signature covers it. */
  host: string;
  embeds: LookerEmbed[];
  rejections: string[];
  close(): Promise<void>;
}

/** Looker's embed permissions (Signed embedding: "Permissions"). */
const PERMISSIONS = new Set([
  'access_data', 'see_lookml_dashboards', 'see_looks', 'see_user_dashboards', 'explore', 'create_table_calculations',
  'create_custom_fields', 'can_create_forecast', 'save_content', 'save_dashboards', 'save_looks', 'create_public_looks',
  'download_with_limit', 'download_without_limit', 'schedule_look_emails', 'schedule_external_look_emails', 'create_alerts',
  'follow_alerts', 'send_to_s3', 'send_to_sftp', 'send_outgoing_webhook', 'send_to_integration', 'see_sql', 'see_lookml',
  'see_drill_overlay', 'embed_browse_spaces', 'embed_save_shared_space', 'clear_cache_refresh', 'see_schedules',
]);
const REQUIRED = ['nonce', 'time', 'session_length', 'external_user_id', 'permissions', 'models', 'access_filters', 'signature'];
const MAX_SKEW = 5 * 60;
const THIRTY_DAYS = 30 * 24 * 3600;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const escapeHtml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

export async function startFakeLooker(o: FakeLookerOptions): Promise<FakeLooker> {
  const now = o.now ?? (() => Math.floor(Date.now() / 1000));
  const seen = new Set<string>();
  const fake: FakeLooker = { url: '', host: '', embeds: [], rejections: [], close: async () => undefined };

  const app = express();
  app.disable('x-powered-by');
  app.get(/^\/login\/embed\/.+/, (req: Request, res: Response) => {
    const refuse = (reason: string) => {
      fake.rejections.push(reason);
      res.status(401).type('text').send(reason);
    };
    const [rawPath, rawQuery = ''] = req.originalUrl.split('?', 2);
    // The raw query, decoded once per value (Looker reads the URL as sent).
    const raw: Record<string, string> = {};
    for (const pair of rawQuery.split('&').filter(Boolean)) {
      const i = pair.indexOf('=');
      const k = decodeURIComponent(i < 0 ? pair : pair.slice(0, i));
      if (Object.prototype.hasOwnProperty.call(raw, k)) return refuse(`${k} given twice`);
      raw[k] = decodeURIComponent(i < 0 ? '' : pair.slice(i + 1).replace(/\+/g, ' '));
    }
    for (const k of REQUIRED) if (raw[k] === undefined) return refuse(`missing ${k}`);

    // string_to_sign, line by line, as the docs list it.
    let stringToSign = fake.host + '\n';
    stringToSign += rawPath + '\n';
    stringToSign += raw.nonce + '\n';
    stringToSign += raw.time + '\n';
    stringToSign += raw.session_length + '\n';
    stringToSign += raw.external_user_id + '\n';
    stringToSign += raw.permissions + '\n';
    stringToSign += raw.models + '\n';
    if (raw.group_ids !== undefined) stringToSign += raw.group_ids + '\n';
    if (raw.external_group_id !== undefined) stringToSign += raw.external_group_id + '\n';
    if (raw.user_attributes !== undefined) stringToSign += raw.user_attributes + '\n';
    stringToSign += raw.access_filters;
    const expected = createHmac('sha1', Buffer.from(o.secret, 'utf8')).update(Buffer.from(stringToSign, 'utf8')).digest();
    const given = Buffer.from(raw.signature, 'base64');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return refuse('signature does not match');

    const p: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(raw)) {
      if (k === 'signature') continue;
      try {
        p[k] = JSON.parse(v);
      } catch {
        return refuse(`${k} is not JSON`);
      }
    }
    const embedUrl = decodeURIComponent(rawPath.slice('/login/embed/'.length));
    if (!embedUrl.startsWith('/embed/')) return refuse('the embed URL is not under /embed/');
    if (typeof p.nonce !== 'string' || p.nonce === '' || p.nonce.length > 255) return refuse('nonce must be a string of 1 to 255 characters');
    if (seen.has(p.nonce)) return refuse('nonce already used');
    if (typeof p.time !== 'number' || !Number.isInteger(p.time)) return refuse('time must be whole seconds');
    if (Math.abs(now() - p.time) > MAX_SKEW) return refuse('time is more than 5 minutes off');
    if (typeof p.session_length !== 'number' || !Number.isInteger(p.session_length) || p.session_length < 1 || p.session_length > THIRTY_DAYS) return refuse('session_length must be 1 s to 30 days');
    if (typeof p.external_user_id !== 'string' || p.external_user_id === '') return refuse('external_user_id must be a string');
    if (!Array.isArray(p.permissions) || !p.permissions.length) return refuse('permissions must name at least one permission');
    const unknownPermissions = p.permissions.filter((x) => typeof x !== 'string' || !PERMISSIONS.has(x));
    if (unknownPermissions.length) return refuse(`unknown permissions: ${unknownPermissions.join(', ')}`);
    if (!Array.isArray(p.models) || !p.models.length || !p.models.every((m) => typeof m === 'string')) return refuse('models must name at least one model');
    const unknownModels = p.models.filter((m) => o.models && !o.models.includes(m as string));
    if (unknownModels.length) return refuse(`unknown models: ${unknownModels.join(', ')}`);
    if (p.group_ids !== undefined && !(Array.isArray(p.group_ids) && p.group_ids.every((g) => Number.isInteger(g)))) return refuse('group_ids must be numbers');
    if (p.external_group_id !== undefined && typeof p.external_group_id !== 'string') return refuse('external_group_id must be a string');
    if (p.user_attributes !== undefined && !isObject(p.user_attributes)) return refuse('user_attributes must be an object');
    if (!isObject(p.access_filters)) return refuse('access_filters must be an object');
    for (const k of ['first_name', 'last_name']) if (p[k] !== undefined && typeof p[k] !== 'string') return refuse(`${k} must be a string`);
    if (p.force_logout_login !== undefined && typeof p.force_logout_login !== 'boolean') return refuse('force_logout_login must be true or false');
    seen.add(p.nonce);
    fake.embeds.push({ embedUrl, params: p });

    const target = new URL(embedUrl, 'https://looker.invalid');
    const dashboard = /^\/embed\/dashboards\/([^/]+)$/.exec(target.pathname)?.[1] ?? '';
    const embedDomain = target.searchParams.get('embed_domain');
    const script = embedDomain
      ? `<script>
const channel = new MessageChannel();
const send = (eventName, payload) => channel.port1.postMessage({ action: 2, data: { eventName, payload: [payload] } });
channel.port1.onmessage = (e) => {
  if (e.data && e.data.action === 0) {
    channel.port1.postMessage({ action: 1, data: {} });
    send('page:changed', { type: 'page:changed', page: { type: 'dashboard', url: ${JSON.stringify(embedUrl)}, lookerVersion: '25.0.0' } });
    send('dashboard:loaded', { type: 'dashboard:loaded', status: 'complete', dashboard: { id: ${JSON.stringify(dashboard)} } });
    send('dashboard:run:complete', { type: 'dashboard:run:complete', status: 'complete', dashboard: { id: ${JSON.stringify(dashboard)} } });
  }
};
parent.postMessage({ action: 0 }, ${JSON.stringify(embedDomain)}, [channel.port2]);
</script>`
      : '';
    res.type('html').send(`<!doctype html><html><body style="font-family:sans-serif;margin:2rem">
<h2>Fake Looker ${escapeHtml(target.pathname.slice('/embed/'.length))}</h2>
<p id="who">${escapeHtml([p.first_name, p.last_name].filter((x) => typeof x === 'string').join(' '))} (external user ${escapeHtml(String(p.external_user_id))})</p>
${script}</body></html>`);
  });

  const server: http.Server = o.tls ? https.createServer({ key: o.tls.key, cert: o.tls.cert }, app) : http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  const hostname = o.hostname ?? '127.0.0.1';
  fake.host = `${hostname}:${port}`;
  fake.url = `${o.tls ? 'https' : 'http'}://${fake.host}`;
  fake.close = () => new Promise((resolve) => server.close(() => resolve()));
  return fake;
}
