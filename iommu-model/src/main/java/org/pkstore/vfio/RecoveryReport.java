package org.pkstore.vfio;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a boot found and did: whether the previous kernel ended uncleanly, the intent it replayed
 * (undone or finished), the pages the reachability sweep gave back per table file, and the
 * containers preserved from before the kexec (waiting for VFIO_CONTAINER_SET_PERSISTENT_PGTABLES).
 */
public final class RecoveryReport {
    private boolean unclean;
    private String intent;
    private String intentAction;
    private final Map<String, Long> reclaimedPages = new LinkedHashMap<>();
    private final List<Integer> preservedContainers = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();

    void unclean(boolean u) { this.unclean = u; }
    void intent(String name, String action) { this.intent = name; this.intentAction = action; }
    void reclaimed(String file, long pages) { reclaimedPages.put(file, pages); }
    void preserved(int containerId) { preservedContainers.add(containerId); }
    void note(String s) { notes.add(s); }

    /** The previous writer did not unmount cleanly: replay and sweep ran. */
    public boolean unclean() { return unclean; }
    /** Name of the intent found active ({@link KernelIntent#name}), or null. */
    public String intent() { return intent; }
    /** "undone" or "finished", or null. */
    public String intentAction() { return intentAction; }
    /** Table file name -> pages the sweep freed (only files that had leaks). */
    public Map<String, Long> reclaimedPages() { return Collections.unmodifiableMap(reclaimedPages); }
    public long totalReclaimedPages() {
        long n = 0;
        for (long pages : reclaimedPages.values()) {
            n += pages; // a loop, not a stream: this is in every boot's reply
        }
        return n;
    }
    public List<Integer> preservedContainers() { return Collections.unmodifiableList(preservedContainers); }
    public List<String> notes() { return Collections.unmodifiableList(notes); }

    @Override
    public String toString() {
        return "RecoveryReport{unclean=" + unclean + ", intent=" + intent + (intentAction != null ? " (" + intentAction + ")" : "")
                + ", reclaimed=" + reclaimedPages + ", preserved=" + preservedContainers + ", notes=" + notes + "}";
    }
}
