// A real OpenID Provider (panva's oidc-provider, ES modules only) in its own process, for the
// suite: the host app's issuer and a tenant's company IdP. Started by test/support/oidc-provider.ts.
//
//   node test/support/oidc-provider-process.mjs '<json config>'
//   config: { keys: [private JWKs, each with kid], clients: [oidc-provider client metadata] }
//
// Prints `listening <port>` once ready. `PUT /__test/keys {"keys": [...]}` swaps the signing
// keys (a key rotation: the next discovery/JWKS answer has the new kid); grants and sessions
// live in oidc-provider's in-process memory adapter and survive the swap.
// devInteractions: any login name signs in, its account's email is that name.
import http from 'node:http';
import Provider from 'oidc-provider';

const cfg = JSON.parse(process.argv[2] ?? '{}');

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

function build(keys) {
  const provider = new Provider(issuer, {
    clients: cfg.clients ?? [],
    jwks: { keys },
    cookies: { keys: ['oidc-provider-test-cookie-key'] },
    findAccount: (_ctx, id) => ({
      accountId: id,
      claims: () => ({ sub: id, email: id, email_verified: true, given_name: 'Ida', family_name: 'Upstream', groups: ['analysts'] }),
    }),
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['given_name', 'family_name', 'groups'] },
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    pkce: { required: () => true },
    // Tokens straight to the ID token (no userinfo call): the claims asked for by scope.
    conformIdTokenClaims: false,
  });
  // oidc-provider warns about the memory adapter and devInteractions: expected in a test.
  provider.on('server_error', (_ctx, err) => console.error('oidc-provider server_error', err));
  return provider;
}

let handler = build(cfg.keys).callback();

server.on('request', (req, res) => {
  if (req.url === '/__test/keys' && req.method === 'PUT') {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      handler = build(JSON.parse(body).keys).callback();
      res.writeHead(204).end();
    });
    return;
  }
  handler(req, res);
});

console.log(`listening ${port}`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
