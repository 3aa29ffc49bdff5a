package io.flotilla.replication.corpus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.replication.AttributeCodec;
import io.flotilla.replication.CodecConfig;
import io.flotilla.replication.SessionCodec;
import io.flotilla.replication.SessionMetadata;
import io.flotilla.replication.SessionRecord;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Issue 11's conformance corpus through Flotilla: every value is encoded on a primary, carried as replica bytes in
 * a full session record, and decoded at take-over by another node's codec, then compared with the original by
 * behaviour ({@link Fidelity}). Runs twice in the build: without {@code --add-opens} (embedded Tomcat, Spring Boot)
 * and with the flags {@code catalina.sh} passes (the {@code corpus-add-opens} surefire execution). The side by side
 * with stock {@code DeltaManager} is tomcat-adapter's {@code StockFidelityTest}.
 */
public class SessionCorpusTest {
    private static final ClassLoader LOADER = SessionCorpusTest.class.getClassLoader();

    /** A primary and a replica node: two codecs, as two JVMs would have. */
    private final CodecConfig config = CodecConfig.builder().allow(SessionCorpus.ALLOWED).build();
    private final AttributeCodec primary = new AttributeCodec(config);
    private final AttributeCodec replica = new AttributeCodec(config);
    private final SessionCodec sessions = new SessionCodec(config);

    /** What Flotilla's replication path did to a value: the copy taken over, or the failure. */
    public record Outcome(Object copy, RuntimeException failure) {
    }

    /**
     * Encode on the primary (the attributes of one request together, as a replication does), replica bytes in a full
     * record, decode at take-over with the replica's codec (each group once, as a take-over does).
     */
    public Map<String, Outcome> replicate(Map<String, Object> attributes) {
        Map<String, byte[]> encoded = new LinkedHashMap<>();
        Map<String, Outcome> out = new LinkedHashMap<>();
        try {
            encoded.putAll(primary.encodeAll(attributes));
        } catch (RuntimeException together) { // name each value's own failure
            for (Map.Entry<String, Object> e : attributes.entrySet()) {
                try {
                    encoded.put(e.getKey(), primary.encode(e.getKey(), e.getValue()));
                } catch (RuntimeException failure) {
                    out.put(e.getKey(), new Outcome(null, failure));
                }
            }
        }
        SessionRecord record = sessions.decodeRecord(sessions.encodeRecord(new SessionRecord(
                "0123456789ABCDEF0123456789ABCDEF", 3, SessionMetadata.created(1_700_000_000_000L, 1800), encoded)));
        Map<String, byte[]> replicated = new LinkedHashMap<>();
        record.attributeNames().forEach(name -> replicated.put(name, record.attributeBytes(name)));
        try {
            replica.decodeAll(replicated, LOADER).forEach((name, copy) -> out.put(name, new Outcome(copy, null)));
        } catch (RuntimeException together) {
            for (String name : encoded.keySet()) {
                try {
                    out.put(name, new Outcome(record.attribute(name, replica, LOADER), null));
                } catch (RuntimeException failure) {
                    out.put(name, new Outcome(null, failure));
                }
            }
        }
        return out;
    }

    /** Null when Flotilla keeps the attributes of {@code shape} and the identities between them; else why not. */
    public String flotilla(SessionCorpus.SessionShape shape) {
        Map<String, Object> originals = shape.attributes().get();
        Map<String, Object> copies = new LinkedHashMap<>();
        for (Map.Entry<String, Outcome> e : replicate(originals).entrySet()) {
            if (e.getValue().failure() != null) {
                return "fails: " + e.getValue().failure().getMessage();
            }
            copies.put(e.getKey(), e.getValue().copy());
        }
        return Fidelity.differences(shape, originals, copies);
    }

    /** Null when Flotilla keeps the shape faithfully; else why not. */
    public String flotilla(SessionCorpus.Shape shape) {
        Object original = shape.value().get();
        Outcome o = replicate(Map.of("a", original)).get("a");
        return o.failure() != null ? "fails: " + o.failure().getMessage() : Fidelity.differences(shape, original,
                o.copy());
    }

    /** Null when a plain Java-serialization round trip keeps the shape faithfully; else why not. */
    static String javaRoundTrip(SessionCorpus.Shape shape) {
        Object original = shape.value().get();
        byte[] bytes = Fidelity.javaBytes(original);
        if (bytes == null) {
            return "not Serializable";
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes))) {
            return Fidelity.differences(shape, original, in.readObject());
        } catch (IOException | ClassNotFoundException e) {
            return "fails: " + e;
        }
    }

    static boolean addOpens() {
        return Object.class.getModule().isOpen("java.util", SessionCorpusTest.class.getModule());
    }

    @Test
    void everyShapeIsAtLeastAsFaithfulAsJavaSerialization() {
        List<SessionCorpus.Shape> shapes = SessionCorpus.shapes();
        Set<String> names = new HashSet<>();
        shapes.forEach(s -> assertTrue(names.add(s.name()), "duplicate shape " + s.name()));
        assertTrue(shapes.size() >= 150, "corpus of " + shapes.size() + " shapes");
        List<String> worse = new ArrayList<>();
        StringBuilder table = new StringBuilder("\nCorpus through Flotilla, " + (addOpens() ? "with" : "without")
                + " --add-opens (" + shapes.size() + " shapes)\n");
        table.append(String.format("%-46s | %-9s | %-9s%n", "shape", "Java ser.", "Flotilla"));
        for (SessionCorpus.Shape shape : shapes) {
            String java = javaRoundTrip(shape);
            String flotilla = flotilla(shape);
            table.append(String.format("%-46s | %-9s | %-9s %s%n", shape.name(), java == null ? "yes" : "NO",
                    flotilla == null ? "yes" : "NO", flotilla == null ? "" : flotilla));
            if (flotilla != null && java == null) {
                worse.add(shape.name() + ": " + flotilla);
            }
        }
        System.out.println(table);
        assertEquals(List.of(), worse, "shapes Java serialization keeps and Flotilla does not");
    }

    @Test
    void attributesThatShareObjectsShareThemInTheCopies() {
        // The attributes of one replication that reach a common object are one graph: identities kept, as in the
        // one object stream of stock's delta request; attributes that share nothing stay values of their own.
        List<String> failed = new ArrayList<>();
        for (SessionCorpus.SessionShape shape : SessionCorpus.sessionShapes()) {
            String why = flotilla(shape);
            if (why != null) {
                failed.add(shape.name() + ": " + why);
            }
        }
        assertEquals(List.of(), failed);
        Map<String, byte[]> encoded = primary.encodeAll(SessionCorpus.sessionShapes().get(5).attributes().get());
        assertSame(encoded.get("cart"), encoded.get("lastCart"), "one group, one array");
        assertNotSame(encoded.get("cart"), encoded.get("other"));
    }
}
