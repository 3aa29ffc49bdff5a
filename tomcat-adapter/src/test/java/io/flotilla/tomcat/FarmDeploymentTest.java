package io.flotilla.tomcat;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.Delivery;
import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.internal.NodeThreads;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The farm's protocol on one member, its node and its Tomcat faked: it fetches exactly the versions it lacks, deploys
 * only a whole stream with the announced hash, and undeploys on removal.
 */
class FarmDeploymentTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final Random IDS = new Random(17);
    @TempDir
    Path dir;
    private final Member self = member("self");
    private final Member origin = member("origin");
    private final Member other = member("other");
    private final RecordingNode node = new RecordingNode(self, List.of(origin, other), false);
    /** What the fake Tomcat was asked to apply: the WAR names, in order. */
    private final List<String> applied = new CopyOnWriteArrayList<>();
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final AtomicLong clock = new AtomicLong();
    private FarmDeployment farm;
    private Path appBase;

    private static Member member(String name) {
        return new Member(MemberId.random(IDS), name, "127.0.0.1", 4000, "", new byte[0], 1);
    }

    @BeforeEach
    void start() throws Exception {
        appBase = Files.createDirectories(dir.resolve("webapps"));
        FarmSettings settings = FarmSettings.parse(Map.of("tempDir", dir.resolve("temp").toString()), dir,
                new CopyOnWriteArrayList<>());
        farm = new FarmDeployment(node, settings, new FarmHost() {
            @Override
            public Path appBase() {
                return appBase;
            }

            @Override
            public boolean apply(String warName, FileChange change) throws IOException {
                change.run();
                applied.add(warName);
                return true;
            }
        }, new NodeThreads("test"), TomcatMeters.farm(registry), clock::get);
        farm.start();
    }

    @AfterEach
    void stop() {
        farm.close();
    }

    private static String sha(byte[] b) {
        return HexFormat.of().formatHex(FarmReceiver.sha256().digest(b));
    }

    private static FarmMessages.Entry entry(String name, byte[] bytes, long modified) {
        return new FarmMessages.Entry(name, bytes.length, sha(bytes), modified, "origin");
    }

    private void deliver(Member from, ByteBuffer payload) throws Exception {
        node.deliver(from, FarmMessages.TOPIC, payload);
    }

    /** Streams {@code sent} as {@code announced} from {@code from}, in 64 KiB chunks. */
    private void stream(Member from, long transfer, FarmMessages.Entry announced, byte[] sent) throws Exception {
        deliver(from, FarmMessages.begin(transfer, announced));
        for (int off = 0; off < sent.length; off += FarmMessages.CHUNK_BYTES) {
            int n = Math.min(FarmMessages.CHUNK_BYTES, sent.length - off);
            deliver(from, FarmMessages.chunk(transfer, off, n).put(sent, off, n).flip());
        }
    }

    private static byte[] bytes(int size, int seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void asksForEachVersionItLacksOnceAndAdoptsOneItHoldsAlready() throws Exception {
        byte[] held = bytes(1000, 1);
        Files.write(appBase.resolve("held.war"), held);
        byte[] lacked = bytes(2000, 2);
        FarmMessages.Entry lackedEntry = entry("lacked.war", lacked, 5);
        deliver(origin, FarmMessages.offer(List.of(entry("held.war", held, 5), lackedEntry), List.of()));
        deliver(other, FarmMessages.offer(List.of(lackedEntry), List.of())); // a second member offers the same version
        await("held.war taken into the farm without a transfer", WAIT, () -> farm.inventory().containsKey("held.war"));
        await("one request", WAIT, () -> node.sent(FarmMessages.REQUEST).size() == 1);
        FarmMessages.Entry adopted = farm.inventory().get("held.war");
        assertEquals(sha(held), adopted.sha256());
        ByteBuffer request = node.sent(FarmMessages.REQUEST).get(0).payload();
        FarmMessages.kind(request);
        assertArrayEquals(new String[] {"lacked.war", sha(lacked)}, FarmMessages.readRequest(request));
        assertEquals(origin, node.sent(FarmMessages.REQUEST).get(0).to());
        assertEquals(List.of(), applied, "nothing deployed before the stream");
    }

    @Test
    void aStreamThatCompletesAfterItsWarWasRemovedIsNotDeployed() throws Exception {
        byte[] war = bytes(100_000, 9);
        FarmMessages.Entry e = entry("app.war", war, 5);
        deliver(origin, FarmMessages.begin(1, e));
        deliver(origin, FarmMessages.chunk(1, 0, 1000).put(war, 0, 1000).flip());
        deliver(origin, FarmMessages.remove(entry("app.war", war, 9)));
        stream(origin, 2, entry("other.war", war, 5), war);
        deliver(origin, FarmMessages.chunk(1, 1000, war.length - 1000).put(war, 1000, war.length - 1000).flip());
        await("other.war deployed", WAIT, () -> farm.inventory().containsKey("other.war"));
        stream(origin, 3, entry("third.war", war, 5), war);
        await("third.war deployed", WAIT, () -> farm.inventory().containsKey("third.war"));
        assertEquals(List.of("other.war", "third.war"), applied, "app.war, removed while it streamed, is not deployed");
        assertFalse(Files.exists(appBase.resolve("app.war")));
    }

    @Test
    void aRequestWhoseStreamNeverBeganIsAskedForAgainAfterThirtySeconds() throws Exception {
        byte[] war = bytes(1000, 8);
        FarmMessages.Entry e = entry("app.war", war, 5);
        deliver(origin, FarmMessages.offer(List.of(e), List.of()));
        await("one request", WAIT, () -> node.sent(FarmMessages.REQUEST).size() == 1);
        int syncs = node.sent(FarmMessages.SYNC).size();
        clock.addAndGet(Duration.ofSeconds(29).toNanos());
        farm.backgroundProcess();
        deliver(other, FarmMessages.offer(List.of(e), List.of()));
        clock.addAndGet(Duration.ofSeconds(2).toNanos());
        farm.backgroundProcess(); // 31 s: its stream never began (the sender's failed)
        await("the members asked again", WAIT, () -> node.sent(FarmMessages.SYNC).size() == syncs + 2);
        deliver(other, FarmMessages.offer(List.of(e), List.of()));
        await("requested again", WAIT, () -> node.sent(FarmMessages.REQUEST).size() == 2);
        assertEquals(other, node.sent(FarmMessages.REQUEST).get(1).to());
    }

    @Test
    void deploysOnlyAWholeStreamWithTheAnnouncedHashAndUndeploysOnRemoval() throws Exception {
        byte[] war = bytes(150_000, 3);
        FarmMessages.Entry e = entry("app.war", war, 5);
        byte[] tampered = war.clone();
        tampered[70_000] ^= 1;
        assertThrows(IllegalArgumentException.class, () -> stream(origin, 1, e, tampered));
        stream(origin, 2, e, Arrays.copyOf(war, 100_000)); // truncated: its sender stops here
        stream(origin, 3, e, war);
        await("app.war deployed", WAIT, () -> farm.inventory().containsKey("app.war"));
        assertEquals(List.of("app.war"), applied, "deployed once, the whole WAR");
        assertEquals(1, registry.get("flotilla.tomcat.farm.refused").counter().count(), "the tampered stream");
        assertEquals(1, registry.get("flotilla.tomcat.farm.deployed").counter().count());
        assertArrayEquals(war, Files.readAllBytes(appBase.resolve("app.war")));
        assertTrue(farm.deployed().startsWith("app.war sha256=" + sha(war).substring(0, 16)), farm.deployed());
        assertTrue(farm.deployed().endsWith("from origin"), farm.deployed());

        deliver(origin, FarmMessages.offer(List.of(e), List.of()));
        deliver(origin, FarmMessages.remove(entry("app.war", war, 9)));
        await("app.war undeployed", WAIT, () -> !farm.inventory().containsKey("app.war"));
        assertFalse(Files.exists(appBase.resolve("app.war")));
        assertEquals(List.of("app.war", "app.war"), applied);
        assertEquals(List.of(), node.sent(FarmMessages.REQUEST), "the offer of a version held asked for nothing");
        try (var files = Files.list(dir.resolve("temp"))) {
            assertEquals(1, files.count(), "only the truncated stream's file, until maxValidTime or its sender leaves");
        }
    }

    @Test
    void answersASyncWithWhatItHoldsAndStreamsARequestedVersionInChunks() throws Exception {
        byte[] war = bytes(200_000, 4);
        FarmMessages.Entry e = entry("app.war", war, 5);
        stream(origin, 1, e, war);
        await("app.war deployed", WAIT, () -> farm.inventory().containsKey("app.war"));
        deliver(other, FarmMessages.sync());
        await("an offer", WAIT, () -> node.sent(FarmMessages.OFFER).size() == 1);
        ByteBuffer offer = node.sent(FarmMessages.OFFER).get(0).payload();
        FarmMessages.kind(offer);
        assertEquals(new FarmMessages.Offer(List.of(e), List.of()), FarmMessages.readOffer(offer));
        deliver(other, FarmMessages.request("app.war", e.sha256()));
        await("the whole WAR streamed", WAIT, () -> node.sent(FarmMessages.CHUNK).size() == 4);
        assertEquals(1, node.sent(FarmMessages.BEGIN).size());
        assertTrue(node.sent(FarmMessages.CHUNK).stream().allMatch(s -> s.to().equals(other)
                && s.delivery() == Delivery.PROCESSED), "chunks acknowledged one by one");
    }

    @Test
    void aMemberThatWasAwayUndeploysExactlyTheRemovedVersionAndNobodyFetchesItAgain() throws Exception {
        byte[] stale = bytes(1000, 5);
        Files.write(appBase.resolve("stale.war"), stale);
        Files.write(appBase.resolve("other.war"), bytes(1000, 6));
        FarmMessages.Entry removal = entry("stale.war", stale, 9);
        deliver(origin, FarmMessages.offer(List.of(), List.of(removal, entry("other.war", bytes(1000, 7), 9))));
        await("stale.war undeployed", WAIT, () -> !Files.exists(appBase.resolve("stale.war")));
        assertEquals(List.of("stale.war"), applied, "only the version removed; other.war here is another one");
        assertTrue(Files.exists(appBase.resolve("other.war")));

        deliver(other, FarmMessages.offer(List.of(entry("stale.war", stale, 5)), List.of())); // from before the removal
        deliver(other, FarmMessages.sync());
        await("the sync answered", WAIT, () -> node.sent(FarmMessages.OFFER).size() == 1);
        ByteBuffer answer = node.sent(FarmMessages.OFFER).get(0).payload();
        FarmMessages.kind(answer);
        assertEquals(List.of(removal), FarmMessages.readOffer(answer).removed().stream()
                .filter(t -> t.name().equals("stale.war")).toList(), "the removal is passed on");
        assertEquals(List.of(), node.sent(FarmMessages.REQUEST), "a version removed since is not fetched");
        deliver(origin, FarmMessages.offer(List.of(entry("stale.war", stale, 20)), List.of())); // dropped again
        await("the WAR taken in again is fetched", WAIT, () -> node.sent(FarmMessages.REQUEST).size() == 1);
        assertEquals(origin, node.sent(FarmMessages.REQUEST).get(0).to(), "from the newer offer, not the stale one");
    }
}
