/** Prints the plain closing line CI reads: "tests: N passed, N failed[, N skipped]". */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const line = `tests: ${results.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`;
    // At exit, so it is the run's last line (after Jest's own summary).
    process.once('exit', () => process.stdout.write(line));
  }
}
module.exports = SummaryReporter;
