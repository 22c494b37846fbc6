package org.pkstore.rehearse.protocol;

/**
 * What the simulated device reports: DMAs done, faults (must stay 0 for mapped IOVAs), read-back
 * mismatches, the longest gap between two successful translations (overall, and in the current
 * window), how often the stage-2 root it walks changed (a hotswap switches it), and at the end how
 * many slots were checked and how many did not hold the last value the device wrote.
 * {@code translations} and {@code faults} count untagged DMA (stage 2 only); {@code pasidTranslations}
 * and {@code pasidFaults} DMA tagged with a bound PASID, translated through the guest's stage 1 and
 * stage 2 (nested). Slots of both kinds are in the final check.
 */
public record DeviceStats(long translations, long faults, long corruptions, long maxGapMicros, long windowMaxGapMicros,
                          long rootSwitches, String firstFault, long slotsChecked, long slotsLost,
                          long pasidTranslations, long pasidFaults) {}
