/**
 * Slowest first, so no worker sits idle at the end of the run waiting on one long spec.
 * Jest's own order: specs that failed last time, then specs it has no time for, then the
 * rest by their last duration, longest first. Without a recorded time (a fresh clone, CI)
 * it falls back to file size, which ranks a long table of HTTP cases above the production
 * image build; here those specs go by tier instead (system, then medium, then unit: the
 * system specs start processes, a browser or an image build and take the longest), then size.
 */
const Sequencer = require('@jest/test-sequencer').default;

const TIER_RANK = { system: 0, medium: 1, unit: 2 };

class SlowestFirstSequencer extends Sequencer {
  sort(tests) {
    super.sort(tests); // sets each test's recorded duration, if any
    const rank = (t) => TIER_RANK[t.context.config.displayName?.name] ?? 3;
    const size = (t) => t.context.hasteFS.getSize(t.path) ?? 0;
    const timed = (t) => (t.duration == null ? 1 : 0);
    return tests.sort(
      (a, b) =>
        Number(this.hasFailed(b)) - Number(this.hasFailed(a)) ||
        timed(b) - timed(a) ||
        (a.duration != null && b.duration != null ? b.duration - a.duration : rank(a) - rank(b) || size(b) - size(a)),
    );
  }
}

module.exports = SlowestFirstSequencer;
