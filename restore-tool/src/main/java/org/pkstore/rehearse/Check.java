package org.pkstore.rehearse;

/** One verified claim of a rehearsal: what was checked, whether it held, and the evidence. */
public record Check(String phase, String name, boolean passed, String detail) {}
