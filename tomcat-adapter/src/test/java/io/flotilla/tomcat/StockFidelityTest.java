package io.flotilla.tomcat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.replication.corpus.Fidelity;
import io.flotilla.replication.corpus.SessionCorpus;
import io.flotilla.replication.corpus.SessionCorpusTest;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.catalina.core.StandardContext;
import org.apache.catalina.ha.session.DeltaManager;
import org.apache.catalina.ha.session.DeltaRequest;
import org.apache.catalina.ha.session.DeltaSession;
import org.apache.catalina.tribes.io.ReplicationStream;
import org.junit.jupiter.api.Test;

/**
 * Issue 11's corpus side by side: each value replicated by stock {@code DeltaManager} (a {@link DeltaRequest}
 * written as {@code DeltaManager.serializeDeltaRequest} does, read through Tribes' {@link ReplicationStream} and
 * executed on the replica's {@link DeltaSession}, as {@code DeltaManager.handleSESSION_DELTA} does) and by Flotilla
 * (encode, replica record, take-over decode), both compared with the original by behaviour. Flotilla must be at
 * least as faithful as stock on every value shape; prints the table.
 */
class StockFidelityTest {
    private static final ClassLoader LOADER = StockFidelityTest.class.getClassLoader();

    /** The replica's session after stock replicated one request that set {@code attributes}. */
    private static DeltaSession stockReplicate(Map<String, Object> attributes) throws Exception {
        String id = "0123456789ABCDEF0123456789ABCDEF";
        DeltaRequest request = new DeltaRequest(id, false);
        attributes.forEach(request::setAttribute);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            request.writeExternal(out);
        }
        DeltaManager manager = new DeltaManager();
        manager.setContext(new StandardContext());
        DeltaSession replica = new DeltaSession(manager);
        replica.setValid(true);
        replica.setId(id, false);
        DeltaRequest received = new DeltaRequest();
        try (ReplicationStream in = new ReplicationStream(new ByteArrayInputStream(bytes.toByteArray()),
                new ClassLoader[] {LOADER})) {
            received.readExternal(in);
        }
        received.execute(replica, false);
        return replica;
    }

    /** Null when stock keeps the shape faithfully; else why not. */
    private static String stock(SessionCorpus.Shape shape) {
        Object original = shape.value().get();
        try {
            return Fidelity.differences(shape, original, stockReplicate(Map.of("a", original)).getAttribute("a"));
        } catch (Exception | StackOverflowError e) {
            return "fails: " + e;
        }
    }

    /** Null when stock keeps the attributes of {@code shape}, set in one request, and the identities between them. */
    private static String stock(SessionCorpus.SessionShape shape) {
        Map<String, Object> originals = shape.attributes().get();
        try {
            DeltaSession replica = stockReplicate(originals);
            Map<String, Object> copies = new LinkedHashMap<>();
            originals.keySet().forEach(name -> copies.put(name, replica.getAttribute(name)));
            return Fidelity.differences(shape, originals, copies);
        } catch (Exception | StackOverflowError e) {
            return "fails: " + e;
        }
    }

    /** The rows of the side-by-side table and its counts. */
    private static final class Table {
        final StringBuilder text = new StringBuilder(String.format("%n%-46s | %-15s | %-17s%n", "shape",
                "stock faithful?", "Flotilla faithful?"));
        final List<String> worse = new ArrayList<>();
        int rows;
        int stockFaithful;
        int flotillaFaithful;

        /** One shape: why stock ({@code s}) and Flotilla ({@code f}) are not faithful, null when they are. */
        void row(String shape, String s, String f) {
            rows++;
            stockFaithful += s == null ? 1 : 0;
            flotillaFaithful += f == null ? 1 : 0;
            text.append(String.format("%-46s | %-15s | %-17s%s%n", shape, s == null ? "yes" : "NO",
                    f == null ? "yes" : "NO", s == null && f == null ? "" : " stock: " + (s == null ? "-" : s)
                            + "; Flotilla: " + (f == null ? "-" : f)));
            if (f != null && s == null) {
                worse.add(shape + ": " + f);
            }
        }
    }

    @Test
    void flotillaIsAtLeastAsFaithfulAsStockDeltaManagerOnEveryShape() throws Exception {
        SessionCorpusTest flotilla = new SessionCorpusTest();
        List<SessionCorpus.Shape> shapes = SessionCorpus.shapes();
        Table table = new Table();
        for (SessionCorpus.Shape shape : shapes) {
            table.row(shape.name(), stock(shape), flotilla.flotilla(shape));
        }
        // Attributes of one session set in one request that share objects: identities after replication + take-over.
        for (SessionCorpus.SessionShape shape : SessionCorpus.sessionShapes()) {
            table.row(shape.name(), stock(shape), flotilla.flotilla(shape));
        }
        table.text.append(String.format("faithful: stock %d of %d, Flotilla %d of %d%n", table.stockFaithful,
                table.rows, table.flotillaFaithful, table.rows));
        System.out.println(table.text);
        assertTrue(shapes.size() >= 150);
        assertEquals(List.of(), table.worse, "shapes stock keeps and Flotilla does not");
    }
}
