import { Module } from '@nestjs/common';
import { LoginThrottleService } from './login-throttle.service';

/**
 * The brute-force counters (LoginThrottleService), one instance for every form that checks a
 * password: the sign-in form and the account page's password change count on the same rows,
 * so a guess counts the same wherever it is made (and the prune interval is registered once).
 */
@Module({
  providers: [LoginThrottleService],
  exports: [LoginThrottleService],
})
export class LoginThrottleModule {}
