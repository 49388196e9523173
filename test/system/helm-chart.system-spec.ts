import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KNOWN_ENV_VARS, parseEnv } from '../../src/config/configuration';
import { Chart, defaultManifests, MANIFESTS_FILE } from '../support/helm-template';

/**
 * deploy/helm/embed-idp renders (with its defaults and with an override), every manifest is a
 * valid object of its Kubernetes kind, what it tells the service is what the service reads,
 * and deploy/kubernetes/embed-idp.yaml is exactly the default rendering (so it cannot drift).
 * No cluster and no helm binary here: test/support/helm-template.ts renders the chart.
 */
const ROOT = path.join(__dirname, '..', '..');

const OVERRIDE = {
  replicaCount: 4,
  autoscaling: { enabled: false },
  ingress: { enabled: true, className: 'nginx', host: 'idp.example.org', tlsSecretName: 'idp-tls', annotations: { 'nginx.ingress.kubernetes.io/proxy-body-size': '1m' } },
  serviceMonitor: { enabled: true, labels: { release: 'prometheus' } },
  secret: { create: true, existingSecret: '', values: { DATABASE_URL: 'postgres://u:p@pgbouncer:6432/idp', DATABASE_DIRECT_URL: 'postgres://u:p@db:5432/idp', SECRETS_KEY: randomBytes(32).toString('hex'), METRICS_TOKEN: randomBytes(24).toString('hex') } },
  workers: '2',
  imagePullSecrets: [{ name: 'registry' }],
};

type K8sObject = Record<string, any>;
const byKind = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind);
const one = (objs: K8sObject[], kind: string) => {
  const found = byKind(objs, kind);
  expect(found).toHaveLength(1);
  return found[0];
};

/**
 * The Kubernetes schemas: `kubernetes-models` (the OpenAPI schemas of a current Kubernetes
 * release compiled to validators, with @kubernetes-models/prometheus-operator for the
 * ServiceMonitor CRD). Those packages are ES modules only, so they run in a child Node process
 * (Jest here loads CommonJS); it answers one line per object: "" when valid, else the errors.
 */
const SCHEMA_MODULES: Record<string, string> = {
  'apps/v1/Deployment': 'kubernetes-models/apps/v1/Deployment',
  'batch/v1/Job': 'kubernetes-models/batch/v1/Job',
  'v1/Service': 'kubernetes-models/v1/Service',
  'v1/Secret': 'kubernetes-models/v1/Secret',
  'policy/v1/PodDisruptionBudget': 'kubernetes-models/policy/v1/PodDisruptionBudget',
  'autoscaling/v2/HorizontalPodAutoscaler': 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
  'networking.k8s.io/v1/Ingress': 'kubernetes-models/networking.k8s.io/v1/Ingress',
  'monitoring.coreos.com/v1/ServiceMonitor': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
};

function schemaErrors(objs: K8sObject[]): string[] {
  const script = `
    const objs = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
    const modules = ${JSON.stringify(SCHEMA_MODULES)};
    const out = [];
    for (const o of objs) {
      const id = modules[o.apiVersion + '/' + o.kind];
      if (!id) { out.push('no schema for ' + o.apiVersion + ' ' + o.kind); continue; }
      const mod = await import(id);
      try { new mod[o.kind](o).validate(); out.push(''); } catch (e) { out.push(o.kind + ': ' + e.message); }
    }
    process.stdout.write(JSON.stringify(out));
  `.replace("require('node:fs')", "(await import('node:fs'))");
  const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, input: JSON.stringify(objs), encoding: 'utf8' });
  return JSON.parse(stdout) as string[];
}

describe('Helm chart deploy/helm/embed-idp', () => {
  const chart = new Chart();
  const defaults = chart.objects({ release: 'embed-idp' });
  const overridden = chart.objects({ release: 'idp', namespace: 'identity', values: OVERRIDE });

  it('renders with its defaults: Deployment, migration Job, Service, PDB, HPA; no Ingress, ServiceMonitor or Secret', () => {
    expect(defaults.map((o) => o.kind).sort()).toEqual(['Deployment', 'HorizontalPodAutoscaler', 'Job', 'PodDisruptionBudget', 'Service']);
    const deployment = one(defaults, 'Deployment');
    // The HPA owns the replica count (a replicas field would reset it on every upgrade).
    expect(deployment.spec.replicas).toBeUndefined();
    expect(one(defaults, 'HorizontalPodAutoscaler').spec).toMatchObject({ minReplicas: 2, scaleTargetRef: { kind: 'Deployment', name: 'embed-idp' } });
    expect(deployment.spec.template.spec.containers[0].envFrom).toEqual([{ secretRef: { name: 'embed-idp' } }]);
  });

  it('renders an override: 4 replicas, Ingress with TLS, ServiceMonitor with the metrics token, a Secret, WORKERS', () => {
    expect(overridden.map((o) => o.kind).sort()).toEqual(['Deployment', 'Ingress', 'Job', 'PodDisruptionBudget', 'Secret', 'Service', 'ServiceMonitor']);
    const deployment = one(overridden, 'Deployment');
    expect(deployment.spec.replicas).toBe(4);
    const container = deployment.spec.template.spec.containers[0];
    expect(container.env).toContainEqual({ name: 'WORKERS', value: '2' });
    expect(container.envFrom).toEqual([{ secretRef: { name: 'idp-secrets' } }]);
    const ingress = one(overridden, 'Ingress');
    expect(ingress.spec).toMatchObject({ ingressClassName: 'nginx', tls: [{ hosts: ['idp.example.org'], secretName: 'idp-tls' }] });
    expect(ingress.spec.rules[0].http.paths[0].backend.service).toEqual({ name: 'idp', port: { name: 'http' } });
    const monitor = one(overridden, 'ServiceMonitor');
    expect(monitor.metadata.labels.release).toBe('prometheus');
    expect(monitor.spec.endpoints[0]).toMatchObject({ port: 'http', path: '/metrics', authorization: { type: 'Bearer', credentials: { name: 'idp-secrets', key: 'METRICS_TOKEN' } } });
    // Created before the migration Job that reads it (both are hooks; lower weight first).
    const secret = one(overridden, 'Secret');
    expect(Number(secret.metadata.annotations['helm.sh/hook-weight'])).toBeLessThan(Number(one(overridden, 'Job').metadata.annotations['helm.sh/hook-weight']));
    expect(secret.stringData.DATABASE_DIRECT_URL).toBe('postgres://u:p@db:5432/idp');
  });

  it.each([
    ['defaults', defaults],
    ['override', overridden],
  ])('every manifest (%s) validates against the Kubernetes schemas', (_name, objs) => {
    expect(schemaErrors(objs)).toEqual(objs.map(() => ''));
  });

  it('the schema check can fail: a Deployment without its selector and a Service with a string port are refused', () => {
    const deployment = JSON.parse(JSON.stringify(one(defaults, 'Deployment')));
    delete deployment.spec.selector;
    const service = JSON.parse(JSON.stringify(one(defaults, 'Service')));
    service.spec.ports[0].port = 'eighty';
    const errors = schemaErrors([deployment, service]);
    expect(errors[0]).toMatch(/selector/);
    expect(errors[1]).toMatch(/port/);
  });

  it('the renderer refuses what it does not read instead of rendering something else', () => {
    const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'chart-'));
    const write = (template: string) => {
      fs.mkdirSync(path.join(dir, 'templates'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'Chart.yaml'), 'name: c\nversion: 0.1.0\nappVersion: "1"\n');
      fs.writeFileSync(path.join(dir, 'values.yaml'), 'a: {b: 1}\n');
      fs.writeFileSync(path.join(dir, 'templates', 't.yaml'), template);
      return new Chart(dir);
    };
    try {
      expect(() => write('{{ with .Values.a }}x{{ end }}')).toThrow(/outside the subset/);
      expect(() => write('x: {{ .Values.missing }}').render()).toThrow(/has no value/);
      expect(() => write('x: {{ .Values.a | upper }}').render()).toThrow(/not a function this renderer knows/);
      expect(write('x: {{- if .Values.a.b }} {{ .Values.a.b | quote }}{{ else }} no{{ end }}').render()).toBe('---\n# Source: c/templates/t.yaml\nx: "1"\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('probes the routes the service has, as the user the image runs as, with a read-only root filesystem', () => {
    const controller = fs.readFileSync(path.join(ROOT, 'src', 'health', 'health.controller.ts'), 'utf8');
    for (const route of ['live', 'ready']) expect(controller).toMatch(new RegExp(`@Get\\('${route}'\\)`));
    expect(controller).toMatch(/@Controller\('health'\)/);
    const pod = one(defaults, 'Deployment').spec.template.spec;
    const c = pod.containers[0];
    expect(c.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(c.ports).toEqual([{ name: 'http', containerPort: 3000, protocol: 'TCP' }]);
    expect(c.env).toContainEqual({ name: 'PORT', value: '3000' });
    const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^EXPOSE 3000$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(c.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(c.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    // The service sees its own shutdown: the drain (SHUTDOWN_GRACE_PERIOD) and the preStop
    // pause fit in the pod's grace period.
    const grace = Number(c.env.find((e: { name: string }) => e.name === 'SHUTDOWN_GRACE_PERIOD').value);
    expect(Number(c.lifecycle.preStop.exec.command[1]) + grace).toBeLessThan(pod.terminationGracePeriodSeconds);
  });

  it('migrates in a pre-install/pre-upgrade Job with the command the image has, and the replicas do not', () => {
    const job = one(defaults, 'Job');
    expect(job.metadata.annotations['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    const cmd: string[] = job.spec.template.spec.containers[0].command;
    expect(cmd.slice(0, 1)).toEqual(['node']);
    // dist/src/… is what `nest build` makes of src/… (the Dockerfile's CMD runs dist/src/main.js).
    expect(cmd[1]).toMatch(/^dist\/src\/.+\.js$/);
    expect(fs.existsSync(path.join(ROOT, cmd[1].replace(/^dist\//, '').replace(/\.js$/, '.ts')))).toBe(true);
    expect(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/^CMD \["node", "dist\/src\/main\.js"\]$/m);
    const deployEnv = one(defaults, 'Deployment').spec.template.spec.containers[0].env;
    expect(deployEnv).toContainEqual({ name: 'MIGRATE_ON_START', value: 'off' });
    // Without the Job, the replicas migrate at start (under the advisory lock).
    const noJob = chart.objects({ values: { migrations: { job: false } } });
    expect(byKind(noJob, 'Job')).toEqual([]);
    expect(one(noJob, 'Deployment').spec.template.spec.containers[0].env.map((e: { name: string }) => e.name)).not.toContain('MIGRATE_ON_START');
  });

  it('sets only variables the service knows, and with the Secret they pass its validation', () => {
    const known = new Set<string>([...KNOWN_ENV_VARS, 'WORKERS']);
    for (const objs of [defaults, overridden]) {
      for (const o of byKind(objs, 'Deployment').concat(byKind(objs, 'Job'))) {
        const env: { name: string; value: string }[] = o.spec.template.spec.containers[0].env;
        expect(env.map((e) => e.name).filter((n) => !known.has(n))).toEqual([]);
        const secret = one(overridden, 'Secret').stringData as Record<string, string>;
        expect(Object.keys(secret).filter((n) => !known.has(n))).toEqual([]);
        const parsed = parseEnv({ ...Object.fromEntries(env.map((e) => [e.name, e.value])), ...secret });
        expect(parsed.app).toMatchObject({ nodeEnv: 'production', port: 3000 });
      }
    }
  });

  it('deploy/kubernetes/embed-idp.yaml is the chart rendered with its defaults (npm run deploy:manifests)', () => {
    expect(fs.readFileSync(MANIFESTS_FILE, 'utf8')).toBe(defaultManifests());
  });
});
