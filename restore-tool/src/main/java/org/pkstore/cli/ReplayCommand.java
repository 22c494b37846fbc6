package org.pkstore.cli;

import org.pkstore.iommu.HostTopology;
import org.pkstore.persist.MountLock;
import org.pkstore.persist.MountLockedException;
import org.pkstore.persist.PersistException;
import org.pkstore.vfio.engine.InconsistentTraceException;
import org.pkstore.vfio.engine.TraceEngine;
import org.pkstore.vfio.trace.TraceFormat;
import org.pkstore.vfio.trace.TraceFormatException;
import org.pkstore.vfio.trace.TraceReader;
import org.pkstore.vfio.trace.TraceRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** {@code pkstore replay TRACE [--mount M]}: runs an ioctl trace through the VFIO model, record by record. */
@Command(name = "replay", mixinStandardHelpOptions = true,
        header = "Run an ioctl trace through the VFIO model and print each result.",
        description = {
                "Runs an ioctl trace (docs/TRACE.md) against the VFIO/IOMMU model (TraceEngine) and prints, per "
                + "record, its file offset, the ioctl's name (or the record type), the return value or errno name, "
                + "and the argument bytes as the kernel left them (hex). KEXEC records reboot the model (planned: "
                + "clean unmount; crash: no cleanup, the next boot recovers). MAP_GUEST_MEMORY and "
                + "OPEN_PGTABLE_FILE create mem/NAME.gmem and pgtables/NAME.pt when absent (docs/CLI.md). An OPEN_* "
                + "record returning a trace fd still open is refused. Without --mount, a fresh temporary "
                + "mount that is deleted afterwards (--keep keeps it). With --mount, that mount is used read-write "
                + "(writer lock).",
                "",
                "Exit: 0 the trace ran to its end; 2 unreadable or malformed trace, or an OPEN_* record reusing a "
                + "trace fd that is still open (the records before the bad one ran and are printed), mount held by "
                + "another process, or bad topology."})
final class ReplayCommand extends BaseCommand {
    @Parameters(index = "0", paramLabel = "TRACE", description = "The trace file.")
    Path trace;

    @Option(names = "--mount", paramLabel = "M", description = "Run against this mount (created if absent) instead of a temporary one.")
    Path mount;

    @Option(names = "--topology", paramLabel = "FILE", description = "Host topology (HostTopology text: unit/group lines, "
            + "e.g. docs/examples/replay.topology); default: unit 0 vtd, group 1 = 00:01.0, group 2 = 00:02.0.")
    Path topologyFile;

    @Option(names = "--keep", description = "Keep the temporary mount and print its path.")
    boolean keep;

    record Step(int index, String offset, String type, String name, Integer fd, String request, long ret, String result,
                String out) {}

    record Error(String offset, String reason) {}

    record Output(String trace, String mount, boolean temporary, List<Step> records, Error error) {}

    @Override
    int execute() throws IOException {
        HostTopology topo = topology();
        if (!Files.isRegularFile(trace)) {
            throw CliException.unusable(trace + ": no such trace file");
        }
        Path dir = mount;
        boolean temporary = dir == null;
        if (temporary) {
            dir = Files.createTempDirectory("pkstore-replay-");
        } else if (MountLock.isHeld(dir)) {
            throw CliException.unusable(dir + " is held by pid " + MountLock.recordedHolder(dir)
                    + " (a host is running): replay needs the writer lock");
        }
        List<Step> steps = new ArrayList<>();
        Error error = null;
        try {
            TraceEngine engine;
            try {
                engine = new TraceEngine(dir, topo);
            } catch (MountLockedException e) {
                throw CliException.unusable("cannot mount " + dir + ": " + e.getMessage());
            } catch (PersistException | IllegalStateException | IllegalArgumentException e) {
                throw CliException.unusable("cannot boot the model on " + dir + ": " + e.getMessage());
            }
            try (engine; TraceReader r = open()) {
                PrintWriter w = out();
                if (!json) {
                    w.println("replay " + trace + " on " + dir + (temporary ? " (temporary mount)" : ""));
                    w.println(WalkCommand.pad("#", 5) + "  " + WalkCommand.pad("OFFSET", 8) + "  "
                            + WalkCommand.pad("RECORD", 39) + "  " + WalkCommand.lpad("FD", 4) + "  "
                            + WalkCommand.pad("RESULT", 10) + "  OUT");
                }
                while (true) {
                    TraceRecord rec;
                    try {
                        rec = r.next();
                    } catch (TraceFormatException e) {
                        error = new Error(Fmt.hex(e.offset()), e.reason());
                        break;
                    }
                    if (rec == null) {
                        break;
                    }
                    long offset = r.lastRecordOffset();
                    TraceEngine.StepResult s;
                    try {
                        s = engine.step(rec);
                    } catch (InconsistentTraceException e) {
                        error = new Error(Fmt.hex(offset), e.getMessage());
                        break;
                    } catch (RuntimeException e) {
                        error = new Error(Fmt.hex(offset), "the model failed on this record: " + MountView.rootMessage(e));
                        break;
                    }
                    Step st = step(s, offset, rec);
                    steps.add(st);
                    if (!json) {
                        w.println(WalkCommand.pad("#" + st.index(), 5) + "  " + WalkCommand.pad(st.offset(), 8) + "  "
                                + WalkCommand.pad(st.name(), 39) + "  " + WalkCommand.lpad(st.fd() == null ? "" : st.fd().toString(), 4)
                                + "  " + WalkCommand.pad(st.result(), 10) + (st.out() == null ? "" : "  " + st.out()));
                    }
                }
                if (json) {
                    Json.write(w, new Output(trace.toString(), dir.toAbsolutePath().toString(), temporary, steps, error));
                } else {
                    w.println(steps.size() + " records run" + (error == null ? "" : ", stopped at a bad record"));
                    if (temporary && keep) {
                        w.println("mount kept at " + dir);
                    }
                }
            }
        } finally {
            if (temporary && !keep) {
                deleteTree(dir);
            }
        }
        if (error != null) {
            warn(trace + " @ offset " + error.offset() + ": " + error.reason());
            return ExitCodes.UNUSABLE;
        }
        return ExitCodes.OK;
    }

    private TraceReader open() throws IOException {
        try {
            return TraceReader.open(trace);
        } catch (TraceFormatException e) {
            throw CliException.unusable(e.getMessage());
        }
    }

    private HostTopology topology() throws IOException {
        if (topologyFile == null) {
            return HostTopology.defaultTopology();
        }
        try {
            return HostTopology.parse(Files.readString(topologyFile));
        } catch (IllegalArgumentException e) {
            throw CliException.unusable(topologyFile + ": " + e.getMessage());
        }
    }

    private static Step step(TraceEngine.StepResult s, long offset, TraceRecord rec) {
        Integer fd = null;
        String request = null;
        if (rec instanceof TraceRecord.Ioctl) {
            fd = ((TraceRecord.Ioctl) rec).fd();
            request = Fmt.hex(Integer.toUnsignedLong(((TraceRecord.Ioctl) rec).request()));
        } else if (rec instanceof TraceRecord.Close) {
            fd = ((TraceRecord.Close) rec).fd();
        } else if (rec instanceof TraceRecord.OpenContainer) {
            fd = ((TraceRecord.OpenContainer) rec).fd();
        } else if (rec instanceof TraceRecord.OpenGroup) {
            fd = ((TraceRecord.OpenGroup) rec).fd();
        } else if (rec instanceof TraceRecord.OpenPgtableFile) {
            fd = ((TraceRecord.OpenPgtableFile) rec).fd();
        }
        return new Step(s.index(), Fmt.hex(offset), TraceFormat.typeName(rec.type()), s.name(), fd, request, s.ret(),
                s.result(), s.outArg().length == 0 ? null : Fmt.bytesHex(s.outArg()));
    }

    static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort: a temporary directory
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }
}
