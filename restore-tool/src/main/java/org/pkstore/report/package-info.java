/**
 * The rehearsal report beyond text: its versioned JSON schema ({@link org.pkstore.report.ReportSchema},
 * docs/REPORT.md), the per-kexec phase timeline ({@link org.pkstore.report.KexecTimeline}), and the
 * renderings made from the JSON alone: KTAP ({@link org.pkstore.report.KtapReport}) and one
 * self-contained HTML page ({@link org.pkstore.report.HtmlReport}); {@code pkstore report}
 * ({@link org.pkstore.report.ReportCommand}) renders a saved report again.
 */
package org.pkstore.report;
