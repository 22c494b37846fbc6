package org.pkstore.rehearse;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;

import java.io.IOException;
import java.util.Locale;

/**
 * Writes an enum of another module (org.pkstore.iommu.IommuDriver, org.pkstore.vfio.trace.KexecKind)
 * as its lower-case name ("vtd", "smmuv3", "planned", "crash"), as the report always had them; on a
 * record component, so that any ObjectMapper writes the report the same.
 */
final class LowerCaseName extends StdSerializer<Enum<?>> {
    @SuppressWarnings({"unchecked", "rawtypes"})
    LowerCaseName() {
        super((Class) Enum.class);
    }

    @Override
    public void serialize(Enum<?> value, JsonGenerator out, SerializerProvider provider) throws IOException {
        out.writeString(value.name().toLowerCase(Locale.ROOT));
    }
}
