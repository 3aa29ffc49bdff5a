package io.flotilla.tomcat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.MemberId;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The receiving side of a WAR stream: only a whole WAR with the announced hash is ever handed on. */
class FarmReceiverTest {
    private static final MemberId FROM = MemberId.random(new Random(1));
    @TempDir
    Path temp;
    private final AtomicLong nanos = new AtomicLong();

    private FarmReceiver receiver(long maxBytes) {
        return new FarmReceiver(temp, maxBytes, Duration.ofSeconds(300), nanos::get);
    }

    private static byte[] war(int size) {
        byte[] b = new byte[size];
        new Random(size).nextBytes(b);
        return b;
    }

    private static FarmMessages.Entry entry(String name, byte[] bytes) {
        return new FarmMessages.Entry(name, bytes.length, HexFormat.of().formatHex(FarmReceiver.sha256().digest(bytes)),
                1, "node1");
    }

    /** Sends {@code bytes} in chunks of {@code chunk} from {@code offset}; returns what the last one returned. */
    private static FarmReceiver.Complete chunks(FarmReceiver r, long transfer, byte[] bytes, int from, int to, int chunk)
            throws IOException {
        FarmReceiver.Complete last = null;
        for (int off = from; off < to; off += chunk) {
            last = r.chunk(FROM, transfer, off, ByteBuffer.wrap(bytes, off, Math.min(chunk, to - off)).slice());
        }
        return last;
    }

    private List<Path> files() throws IOException {
        try (Stream<Path> s = Files.list(temp)) {
            return s.toList();
        }
    }

    @Test
    void aWholeWarWithTheAnnouncedHashIsHandedOnAndNothingBefore() throws Exception {
        FarmReceiver r = receiver(1 << 20);
        byte[] bytes = war(200_000);
        r.begin(FROM, 7, entry("app.war", bytes));
        assertNull(chunks(r, 7, bytes, 0, 150_000, 65_536), "incomplete: nothing handed on");
        FarmReceiver.Complete c = chunks(r, 7, bytes, 150_000, bytes.length, 65_536);
        assertNotNull(c);
        assertArrayEquals(bytes, Files.readAllBytes(c.file()));
        assertEquals("app.war", c.entry().name());
        assertEquals(0, r.open());
    }

    @Test
    void aTamperedByteIsRefusedAndItsFileDeleted() throws Exception {
        FarmReceiver r = receiver(1 << 20);
        byte[] bytes = war(100_000);
        FarmMessages.Entry announced = entry("app.war", bytes);
        byte[] tampered = bytes.clone();
        tampered[99_999] ^= 1;
        r.begin(FROM, 1, announced);
        chunks(r, 1, tampered, 0, 65_536, 65_536);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> chunks(r, 1, tampered, 65_536, tampered.length, 65_536));
        assertTrue(e.getMessage().contains("not the announced " + announced.sha256()), e.getMessage());
        assertEquals(List.of(), files(), "the altered WAR is gone");
        assertEquals(0, r.open());
    }

    @Test
    void aTruncatedStreamIsNeverHandedOnAndIsDiscardedWhenItsSenderLeavesOrItExpires() throws Exception {
        FarmReceiver r = receiver(1 << 20);
        byte[] bytes = war(100_000);
        r.begin(FROM, 1, entry("a.war", bytes));
        assertNull(chunks(r, 1, bytes, 0, 65_536, 65_536));
        r.begin(FROM, 2, entry("b.war", bytes));
        assertNull(chunks(r, 2, bytes, 0, 65_536, 65_536));
        assertEquals(2, files().size());
        assertEquals(0, r.expire(), "not older than maxValidTime yet");
        nanos.addAndGet(Duration.ofSeconds(301).toNanos());
        r.begin(FROM, 3, entry("c.war", bytes));
        assertEquals(2, r.expire(), "the two abandoned streams");
        assertEquals(1, r.dropFrom(FROM), "the sender left");
        assertEquals(List.of(), files());
    }

    @Test
    void chunksOutOfPlaceOrBeyondTheAnnouncedSizeAreRefused() throws Exception {
        FarmReceiver r = receiver(1 << 20);
        byte[] bytes = war(1000);
        r.begin(FROM, 1, entry("app.war", bytes));
        assertThrows(IllegalArgumentException.class, () -> r.chunk(FROM, 1, 10, ByteBuffer.wrap(bytes)),
                "a gap");
        assertEquals(List.of(), files());
        r.begin(FROM, 2, entry("app.war", bytes));
        assertThrows(IllegalArgumentException.class, () -> r.chunk(FROM, 2, 0, ByteBuffer.wrap(war(1001))),
                "more than announced");
        assertThrows(IllegalArgumentException.class, () -> r.chunk(FROM, 9, 0, ByteBuffer.wrap(bytes)),
                "no such stream");
        assertEquals(List.of(), files());
    }

    @Test
    void aWarOverTheSizeLimitIsRefusedBeforeAnythingIsWritten() {
        FarmReceiver r = receiver(1000);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> r.begin(FROM, 1, entry("big.war", war(1001))));
        assertTrue(e.getMessage().contains("maxWarBytes is 1000"), e.getMessage());
    }

    @Test
    void namesThatCouldLeaveTheDeployFolderOrAreNoWarsAreRefused() {
        FarmReceiver r = receiver(1 << 20);
        for (String bad : List.of("../app.war", "a/b.war", "a\\b.war", "..war", ".war", ".hidden.war", "app.jar",
                "C:app.war", "app\n.war", "app.war/..", "app.WAR")) {
            assertThrows(IllegalArgumentException.class, () -> r.begin(FROM, 1, entry(bad, war(10))), bad);
            assertThrows(IllegalArgumentException.class, () -> FarmReceiver.inside(temp, bad), bad);
        }
        assertEquals(temp.resolve("ROOT.war"), FarmReceiver.inside(temp, "ROOT.war"));
        assertEquals(temp.resolve("shop#v2.war"), FarmReceiver.inside(temp, "shop#v2.war"));
    }

    @Test
    void messagesRoundTripAndTruncatedOnesAreRefused() {
        FarmMessages.Entry e = entry("app.war", war(10));
        ByteBuffer offer = FarmMessages.offer(List.of(e, entry("b.war", war(3))), List.of(e));
        assertEquals(FarmMessages.OFFER, FarmMessages.kind(offer));
        assertEquals(new FarmMessages.Offer(List.of(e, entry("b.war", war(3))), List.of(e)), FarmMessages.readOffer(offer));
        ByteBuffer begin = FarmMessages.begin(42, e);
        FarmMessages.kind(begin);
        assertEquals(42, FarmMessages.readLong(begin));
        assertEquals(e, FarmMessages.readEntry(begin));
        ByteBuffer cut = FarmMessages.begin(42, e);
        cut.limit(cut.limit() - 1);
        FarmMessages.kind(cut);
        FarmMessages.readLong(cut);
        assertThrows(IllegalArgumentException.class, () -> FarmMessages.readEntry(cut));
        ByteBuffer other = ByteBuffer.wrap(new byte[] {9, FarmMessages.SYNC});
        assertThrows(IllegalArgumentException.class, () -> FarmMessages.kind(other), "another version");
    }
}
