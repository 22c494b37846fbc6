package org.pkstore.cli;

import org.pkstore.vfio.uapi.VfioIoctl;
import picocli.CommandLine.Command;

import java.util.ArrayList;
import java.util.List;

/** {@code pkstore ioctls}: the VFIO ioctls the model implements, from {@link VfioIoctl}. */
@Command(name = "ioctls", mixinStandardHelpOptions = true,
        header = "List the VFIO ioctls: names, numbers, argument sizes.",
        description = {
                "Lists the VFIO ioctls pkstore models: name, fd type, request number, VFIO_BASE offset, how the "
                + "argument is passed, its fixed size and smallest argsz, data direction, C type and origin "
                + "(docs/UAPI.md).",
                "",
                "Exit: 0."})
final class IoctlsCommand extends BaseCommand {
    record IoctlOut(String name, String number, int nr, String fd, String arg, int argSize, int minArgsz,
                    boolean variableLength, String direction, String argType, String origin, String summary) {}

    @Override
    int execute() {
        if (json) {
            List<IoctlOut> out = new ArrayList<>();
            for (VfioIoctl i : VfioIoctl.values()) {
                out.add(new IoctlOut(i.name(), Fmt.hex(i.number()), i.baseOffset(), i.fdType().name().toLowerCase(),
                        i.argKind().name().toLowerCase(), i.argSize(), i.minArgsz(), i.variableLength(),
                        i.direction().name().toLowerCase(), i.argType(), i.origin().name().toLowerCase(), i.summary()));
            }
            Json.write(out(), out);
        } else {
            out().print(VfioIoctl.table());
        }
        return ExitCodes.OK;
    }
}
