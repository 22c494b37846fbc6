package org.pkstore.rehearse;

/**
 * One domain's reattach against the replay rebuild ({@code "reattachVersusRebuild"} in the report):
 * the domain attach is the best of {@code adoptSamples} adopt kexecs, the live-update MAP_DMA
 * re-establishment is from the last one; {@code rebuildOverAttach} is null when the attach took 0 ms.
 */
public record ReattachVersusRebuild(long mappings4k, double domainAttachMs, int adoptSamples,
                                    double liveUpdateReestablishMs, double replayRebuildMs, Double rebuildOverAttach) {
    /** This sample merged into the ones before: the attach time is the minimum, the rest the latest. */
    ReattachVersusRebuild after(ReattachVersusRebuild earlier) {
        double best = Math.min(earlier.domainAttachMs, domainAttachMs);
        return new ReattachVersusRebuild(mappings4k, best, earlier.adoptSamples + adoptSamples, liveUpdateReestablishMs,
                replayRebuildMs, ratio(replayRebuildMs, best));
    }

    static Double ratio(double replayMs, double attachMs) {
        return attachMs > 0 ? Math.round(replayMs / attachMs * 10) / 10.0 : null;
    }
}
