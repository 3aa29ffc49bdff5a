package io.flotilla.replication;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import io.flotilla.replication.CodecException.Reason;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Several attribute values of one session written as one Kryo graph, so objects they share stay shared in the copy
 * (two attributes holding one cart, or two beans holding one address), as one object stream keeps them for stock
 * {@code DeltaManager}. On the wire it is a value like any other: the well-known tag {@link #TAG} (the first byte of
 * the bytes; see {@link WellKnownTypes}), then the member count and, per member, its name and its value. Every member
 * attribute of a group holds the same bytes; decoding them for one name yields that member's value.
 *
 * <p>Threading: an instance is built and read by one thread; the serializer belongs to one Kryo instance.
 */
final class AttributeGroup {
    /** Its place in the well-known table, which is the wire format (checked when the table is built). */
    static final int WELL_KNOWN_INDEX = 100;
    /** The class tag, and so the first byte, of a group's bytes (one varint byte: below 128). */
    static final int TAG = AllowlistClassResolver.FIRST_WELL_KNOWN_TAG + WELL_KNOWN_INDEX;

    final Map<String, Object> values;

    AttributeGroup(Map<String, Object> values) {
        this.values = values;
    }

    /** Whether {@code bytes} (an attribute's encoded value) are a group's. */
    static boolean isGroup(byte[] bytes) {
        return bytes.length > 0 && bytes[0] == TAG;
    }

    /** Whether two attributes hold the bytes of one group (the same array, or equal copies of it). */
    static boolean sameGroup(byte[] a, byte[] b) {
        return a == b || a != null && b != null && isGroup(a) && Arrays.equals(a, b);
    }

    /** Writes and reads a group; only ever the top-level object of a value. */
    static final class GroupSerializer extends Serializer<AttributeGroup> {
        private final Limits limits;

        GroupSerializer(Limits limits) {
            super(false, true);
            this.limits = limits;
        }

        @Override
        public void write(Kryo kryo, Output output, AttributeGroup group) {
            output.writeVarInt(group.values.size(), true);
            for (Map.Entry<String, Object> e : group.values.entrySet()) {
                output.writeString(e.getKey());
                kryo.writeClassAndObject(output, e.getValue());
            }
        }

        @Override
        public AttributeGroup read(Kryo kryo, Input input, Class<? extends AttributeGroup> type) {
            if (kryo.getDepth() != 1) {
                throw new CodecException(Reason.MALFORMED, "an attribute group nested inside a value");
            }
            int count = input.readVarInt(true);
            limits.collection(count, CheckedSerializers.remaining(input), 2);
            if (count < 2) {
                throw new CodecException(Reason.MALFORMED, "an attribute group of " + count + " values");
            }
            Map<String, Object> values = new LinkedHashMap<>();
            for (int i = 0; i < count; i++) {
                String name = input.readString();
                if (name == null || values.containsKey(name)) {
                    throw new CodecException(Reason.MALFORMED, "attribute group member name missing or repeated");
                }
                values.put(name, kryo.readClassAndObject(input));
            }
            return new AttributeGroup(values);
        }
    }

    static void addTo(List<WellKnownTypes.Entry> entries, Limits limits) {
        if (entries.size() != WELL_KNOWN_INDEX || TAG >= 0x80) {
            throw new IllegalStateException("the attribute group must be well-known entry " + WELL_KNOWN_INDEX
                    + " (a one-byte tag), but the table has " + entries.size() + " entries before it");
        }
        entries.add(new WellKnownTypes.Entry(List.of(AttributeGroup.class), new GroupSerializer(limits)));
    }
}
