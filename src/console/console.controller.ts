import { Controller, Get, Req, Res, UseFilters } from '@nestjs/common';
import { Undocumented } from '../common/openapi';
import type { Response } from 'express';
import { AuthenticatedRequest } from '../auth/auth.decorators';
import { Public, LoadsSession } from '../common/route-protection';
import { AuditService } from '../audit/audit.service';
import { TargetsService } from '../catalog/targets.service';
import { AccessService } from '../catalog/access.service';
import { barChart, lineChart } from './chart';
import { TenantsService } from '../tenants/tenants.service';
import { UsersService } from '../users/users.service';
import { ConsoleErrorFilter, ConsoleKit } from './console-kit';
import { ChecklistStep, overviewPage } from './views/overview';
import { CONSOLE_SCRIPT } from './views/layout';
import { html, SafeHtml } from '../common/html';
import { AUDIT_EVENT_TYPES, reasonInWords } from '../audit/audit-vocabulary';

/** "SSO: no access": the refused flow and the reason, in words. */
export function refusalLabel(type: string, reason: string): string {
  const flow = (AUDIT_EVENT_TYPES[type] ?? type).replace(/^refused: /, '');
  return `${flow[0].toUpperCase()}${flow.slice(1)}: ${reasonInWords(reason)}`;
}

/** The audit page filtered to these events. */
function auditLink(base: string, f: { type: string; reason: string; from: string }): string {
  const q = new URLSearchParams({ type: f.type, ...(f.reason ? { reason: f.reason } : {}), from: f.from });
  return `${base}/console/audit?${q.toString()}`;
}

/** The console's front page, and its one script. */
@Undocumented('HTML operator console, for browsers')
@Controller('console')
@UseFilters(ConsoleErrorFilter)
export class ConsoleController {
  constructor(
    private readonly kit: ConsoleKit,
    private readonly tenants: TenantsService,
    private readonly users: UsersService,
    private readonly targets: TargetsService,
    private readonly audit: AuditService,
    private readonly access: AccessService,
  ) {}

  @Get()
  @LoadsSession()
  async overview(@Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    const ctx = await this.kit.enter(req, res);
    const own = ctx.principal.scope.tenantId;
    const counts = own
      ? { tenants: 1, users: (await this.users.list(own, { limit: 1, offset: 0 })).total, targets: null }
      : { tenants: await this.tenants.count(), users: await this.users.countAll(), targets: (await this.targets.list()).length };
    const checklist = own ? null : await this.gettingStarted(ctx.base, counts.targets ?? 0);
    this.kit.render(ctx, 200, 'Overview', 'overview', overviewPage({ counts, checklist, charts: await this.activity(own, ctx.base) }));
  }

  /**
   * The path from an empty console to a first sign-in, each step ticked from what exists
   * (null once every step is done: the overview then shows only the figures).
   */
  private async gettingStarted(base: string, targets: number): Promise<ChecklistStep[] | null> {
    const [tenants, users, grant, issued] = await Promise.all([
      this.tenants.countCustomers(),
      // Users of customer tenants: all users but the operators' own.
      this.tenants.findOperatorTenant().then(async (op) => (await this.users.countAll()) - (op ? (await this.users.list(op.id, { limit: 1, offset: 0 })).total : 0)),
      this.access.first(),
      this.audit.list({ type: 'sso.token_issued', limit: 1 }).then(async (r) => r.length > 0 || (await this.audit.list({ type: 'token.issued', limit: 1 })).length > 0),
    ]);
    const steps: ChecklistStep[] = [
      { done: targets > 0, text: 'Add a BI target: the product people sign in to, with its secret', href: `${base}/console/targets/new` },
      { done: tenants > 0, text: 'Add a customer tenant', href: `${base}/console/tenants` },
      { done: users > 0, text: 'Add a user to the tenant (open the tenant, then "Add user")', href: `${base}/console/tenants` },
      { done: grant !== null, text: 'Grant the tenant access to the target (open the tenant, then "Access")', href: `${base}/console/tenants` },
      {
        done: issued,
        text: 'Try it: preview the claims of a grant, then sign in through the target',
        href: grant ? `${base}/console/tenants/${grant.tenantId}/access/${grant.targetId}/try` : `${base}/console/tenants`,
      },
    ];
    return steps.every((s) => s.done) ? null : steps;
  }

  /** Last 24 h from the audit trail: sign-ins and SSO handshakes per hour by target; refusals by reason. */
  private async activity(tenantId: string | null, base: string): Promise<SafeHtml> {
    const end = new Date();
    end.setUTCMinutes(0, 0, 0);
    const hours = Array.from({ length: 24 }, (_, i) => new Date(end.getTime() - (23 - i) * 3_600_000));
    const rows = await this.audit.hourlyActivity(hours[0], tenantId);
    const series = new Map<string, number[]>([['Sign-ins', new Array(24).fill(0)]]);
    const refusals = new Map<string, { label: string; value: number; href: string }>();
    // The audit page's datetime-local filter (UTC): the same 24 hours as the chart.
    const from = hours[0].toISOString().slice(0, 16);
    for (const r of rows) {
      if (r.type === 'login.success' || r.type === 'sso.token_issued') {
        const name = r.type === 'login.success' ? 'Sign-ins' : `SSO ${r.target || '(unknown)'}`;
        if (!series.has(name)) series.set(name, new Array(24).fill(0));
        const i = Math.round((r.hour.getTime() - hours[0].getTime()) / 3_600_000);
        if (i >= 0 && i < 24) series.get(name)![i] += r.n;
      } else {
        const key = `${r.type} ${r.reason}`;
        const bar = refusals.get(key) ?? { label: refusalLabel(r.type, r.reason), value: 0, href: auditLink(base, { type: r.type, reason: r.reason, from }) };
        bar.value += r.n;
        refusals.set(key, bar);
      }
    }
    const bars = [...refusals.values()].sort((a, b) => b.value - a.value || a.label.localeCompare(b.label));
    return html`<section class="card" aria-labelledby="act-h"><h2 id="act-h">Last 24 hours</h2>
${lineChart('activity', 'Sign-ins and SSO handshakes per hour', hours, [...series].map(([name, values]) => ({ name, values })))}
${barChart('refusals', 'Refusals by reason', bars)}
</section>`;
  }

  /** Copy buttons (progressive enhancement; CSP script-src 'self'). No data: public. */
  @Get('assets/console.js')
  @Public()
  script(@Res() res: Response): void {
    res.set({ 'Cache-Control': 'public, max-age=300', 'X-Content-Type-Options': 'nosniff' }).type('application/javascript').send(CONSOLE_SCRIPT);
  }
}
