import { HandshakeLimiter } from './handshake-limit';
import { MAX_IAT_SHARE_SECONDS } from './iat-sequence';

describe('HandshakeLimiter', () => {
  const limiter = () => new HandshakeLimiter({ pruneIntervalSeconds: 300, sessionBurst: 3, sessionRatePerSecond: 1, signingKeyPublicationDelaySeconds: 4200 });

  it('lets a session make its burst, then says how long to wait', () => {
    const l = limiter();
    expect([l.take('s'), l.take('s'), l.take('s')]).toEqual([0, 0, 0]);
    expect(l.take('s')).toBe(1);
    expect(l.take('other')).toBe(0);
  });

  it('writes one refusal per window, counting those left out', () => {
    const l = limiter();
    expect(l.refusal('s')).toEqual({ audit: true, notAuditedBefore: 0 });
    expect(l.auditDue('s')).toBe(false);
    expect(l.refusal('s')).toEqual({ audit: false, notAuditedBefore: 0 });
    expect(l.refusal('other')).toEqual({ audit: true, notAuditedBefore: 0 });
  });

  it('holds a session to its share of a sequence ahead of the clock; others and the clock free it', () => {
    const l = limiter();
    const now = Math.floor(Date.now() / 1000);
    for (let i = 1; i <= MAX_IAT_SHARE_SECONDS; i++) {
      const r = l.reserveShare('seq', 's', now);
      if (!('settle' in r)) throw new Error(`refused at ${i}`);
      r.settle(now + i);
    }
    expect(l.reserveShare('seq', 's', now)).toEqual({ retryAfterSeconds: 2 });
    expect('settle' in l.reserveShare('seq', 'colleague', now)).toBe(true);
    expect('settle' in l.reserveShare('other-seq', 's', now)).toBe(true);
    // Two seconds later its two oldest iats are no longer ahead of the clock.
    expect('settle' in l.reserveShare('seq', 's', now + 2)).toBe(true);
  });

  it('counts a reservation being recorded, and frees one that recorded nothing', () => {
    const l = limiter();
    const now = Math.floor(Date.now() / 1000);
    const pending = Array.from({ length: MAX_IAT_SHARE_SECONDS }, () => l.reserveShare('seq', 's', now));
    expect('retryAfterSeconds' in l.reserveShare('seq', 's', now)).toBe(true);
    for (const p of pending) if ('settle' in p) p.settle(null);
    expect('settle' in l.reserveShare('seq', 's', now)).toBe(true);
  });
});
