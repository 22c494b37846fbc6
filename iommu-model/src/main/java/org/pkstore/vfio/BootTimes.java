package org.pkstore.vfio;

/**
 * What a kernel boot spent, in its order (docs/LIVE-UPDATE.md, boot order), and how it used the
 * preserved record. The units' device tables and, after a clean end, the table files are opened
 * while the registries open in the background; {@code registryWaitNanos} is how long the boot then
 * waited for them.
 *
 * @param unitsNanos         every unit's device tables opened (kernel objects)
 * @param tablesNanos        every table and guest memory file mapped
 * @param registryWaitNanos  waited for the registries' open (0 when it was already done)
 * @param recoveryNanos      after an unclean end: intent replay, sweep, VMID reference counts
 * @param preservedNanos     preserved containers loaded and the record checked against the registries
 * @param recordReadNanos    the preserved record read at mount, before any registry
 * @param record             how the record was used: "used ...", "absent", "refused: ...", "behind: ...", "differs ..."
 * @param startNanos         System.nanoTime when the units began to open
 */
public record BootTimes(long unitsNanos, long tablesNanos, long registryWaitNanos, long recoveryNanos,
                        long preservedNanos, long recordReadNanos, String record, long startNanos) {}
