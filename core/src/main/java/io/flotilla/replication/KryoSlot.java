package io.flotilla.replication;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.SerializerFactory;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.util.DefaultInstantiatorStrategy;
import com.esotericsoftware.kryo.util.MapReferenceResolver;
import java.util.Collection;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import org.objenesis.strategy.StdInstantiatorStrategy;

/**
 * One configured Kryo instance with its resolver, input and output: what the pool of an {@link AttributeCodec}
 * hands out. Never shared between threads: a slot is borrowed, used by one call and returned.
 *
 * <p>Threading: confined to the borrowing thread.
 */
final class KryoSlot {
    private static final int INITIAL_OUTPUT_BYTES = 512;
    private static final int RETAINED_OUTPUT_BYTES = 64 << 10;

    final Kryo kryo;
    final AllowlistClassResolver resolver;
    final SharingReferences references = new SharingReferences();
    final BoundedInput input;
    final Output output;
    private final int maxValueBytes;

    KryoSlot(CodecConfig config, SerializationRules rules, Limits limits) {
        resolver = new AllowlistClassResolver(config, rules, limits);
        kryo = new Kryo(resolver, references);
        kryo.setRegistrationRequired(false);
        kryo.setWarnUnregisteredClasses(false);
        kryo.setReferences(true);
        kryo.setMaxDepth(limits.maxDepth);
        kryo.setInstantiatorStrategy(new DefaultInstantiatorStrategy(new StdInstantiatorStrategy()));
        // Ahead of Kryo's own defaults; the more specific first.
        kryo.addDefaultSerializer(TreeMap.class, factory(t -> new CheckedSerializers.CheckedTreeMap(limits)));
        kryo.addDefaultSerializer(TreeSet.class, factory(t -> new CheckedSerializers.CheckedTreeSet(limits)));
        kryo.addDefaultSerializer(Collection.class, factory(t -> new CheckedSerializers.CheckedCollection(limits)));
        kryo.addDefaultSerializer(Map.class, factory(t -> new CheckedSerializers.CheckedMap(limits)));
        kryo.addDefaultSerializer(Object[].class, factory(t -> new CheckedSerializers.CheckedObjectArray(limits)));
        resolver.installWellKnown(WellKnownTypes.entries(kryo, limits, resolver.javaSerializer()));
        input = new BoundedInput(limits);
        maxValueBytes = limits.maxValueBytes;
        output = new Output(INITIAL_OUTPUT_BYTES, maxValueBytes);
    }

    /** Drops a buffer a large value grew, so an idle pool does not pin memory. */
    void trim() {
        if (output.getBuffer().length > RETAINED_OUTPUT_BYTES) {
            output.setBuffer(new byte[INITIAL_OUTPUT_BYTES], maxValueBytes);
        }
        input.setBuffer(new byte[0]);
    }

    /** Kryo's reference table, telling a {@link SharedObjects} of each object written while one is set. */
    static final class SharingReferences extends MapReferenceResolver {
        SharedObjects sharing;

        @Override
        public int addWrittenObject(Object object) {
            if (sharing != null) {
                sharing.note(object);
            }
            return super.addWrittenObject(object);
        }
    }

    @SuppressWarnings("rawtypes")
    private static SerializerFactory<Serializer> factory(Function<Class<?>, Serializer> make) {
        return new SerializerFactory.BaseSerializerFactory<>() {
            @Override
            public Serializer newSerializer(Kryo kryo, Class type) {
                return make.apply(type);
            }
        };
    }
}
