package io.flotilla.transport.netty;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.ClusterSecret;
import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameCodec;
import io.flotilla.wire.FrameType;
import io.flotilla.wire.Handshake;
import io.flotilla.wire.WireException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * At least {@code flotilla.fuzz.frames} random and mutated hostile frames (plus member frames) against a live receiver that requires the cluster secret, over thousands of
 * connections. Two kinds of connection:
 * <ul>
 *   <li>hostile (no secret): a HELLO, DATA, ACK, AUTH or garbage, each possibly bit-flipped, truncated, with a
 *       changed length, type, version or magic, or extended. Each must end in exactly one counted refusal, and
 *       none may reach the engine: the sum of the refusal counters must equal the number of these connections.
 *   <li>member (with the secret, one of a few identities): after a real handshake, well-framed frames with random
 *       fields and payloads, all of which must reach the engine, sometimes ended by one corrupt header, which must
 *       be refused and counted.
 * </ul>
 * Throughout, a legitimate peer's frames keep arriving; at the end the receiver holds only the legitimate
 * connection, and its used heap after GC is within a margin of where it started.
 *
 * <p>{@code -Dflotilla.fuzz.frames=N} (default 100,000; the {@code fuzz-long} profile sets 2,000,000) and
 * {@code -Dflotilla.fuzz.seed=S} (printed) reproduce a run.
 */
class FrameFuzzTest {
    private static final ClusterSecret SECRET = SecretHandshakeTest.SECRET;
    private static final String CLUSTER = "test";
    private static final int WORKERS = 2;
    private static final long HEAP_MARGIN_BYTES = 48L << 20;
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final Set<FrameType> MEMBER_TYPES = Set.of(FrameType.DATA, FrameType.ACK, FrameType.RESULT,
            FrameType.SYNC, FrameType.PING, FrameType.PONG);
    private static final FrameType[] MEMBER_TYPE_LIST = MEMBER_TYPES.toArray(new FrameType[0]);

    private final SecureRandom secureRandom = new SecureRandom();
    private final List<Member> identities = new ArrayList<>();
    private final AtomicLong framesSent = new AtomicLong();
    private final AtomicLong hostileFrames = new AtomicLong();
    private final AtomicLong hostileConnections = new AtomicLong();
    private final AtomicLong expectedRefusals = new AtomicLong();
    private final AtomicLong expectedAtEngine = new AtomicLong();
    private final AtomicLong fromPeer = new AtomicLong();
    private final AtomicLong fromOthers = new AtomicLong();

    @Test
    @Timeout(value = 30, unit = TimeUnit.MINUTES)
    void hostileAndMutatedFramesAreRefusedCountedAndHarmlessWhileAPeerIsServed() throws Exception {
        long target = Long.getLong("flotilla.fuzz.frames", 100_000);
        long seed = Long.getLong("flotilla.fuzz.seed", System.nanoTime());
        System.out.println("FrameFuzzTest seed " + seed + ", " + target + " frames");
        for (int i = 0; i < 4; i++) {
            identities.add(new Member(MemberId.random(), "fuzz-" + i, "127.0.0.1", 1, "", new byte[0], i));
        }
        Set<MemberId> fuzzIds = ConcurrentHashMap.newKeySet();
        identities.forEach(m -> fuzzIds.add(m.id()));
        RecordingInbound inbound = new RecordingInbound().countingOnly();
        try (TestNode receiver = TestNode.start(CLUSTER, "receiver", TestNode.config()
                        .handshakeTimeout(Duration.ofSeconds(2)).idleTimeout(Duration.ofSeconds(5)).build(),
                        inbound, SECRET);
                TestNode peer = TestNode.start(CLUSTER, "peer", TestNode.config().poolSize(1).build(),
                        new RecordingInbound(), SECRET)) {
            inbound.reacting((c, f) -> {
                if (c.remote().id().equals(peer.member.id())) {
                    fromPeer.incrementAndGet();
                } else if (!fuzzIds.contains(c.remote().id())) {
                    fromOthers.incrementAndGet();
                }
            });
            AtomicLong served = new AtomicLong();
            Runnable assertPeerServed = () -> {
                long n = served.incrementAndGet();
                peer.transport.send(receiver.member, new Frame(FrameType.DATA, 0, 1, 0, n, ByteBuffer.allocate(8)));
                await("legitimate frame " + n, WAIT, () -> fromPeer.get() == n);
            };
            assertPeerServed.run();
            int baselineConnections = receiver.transport.connectionCount();
            long heapBefore = usedHeapAfterGc();
            long started = System.nanoTime();

            ExecutorService pool = Executors.newFixedThreadPool(WORKERS + 1);
            List<Future<?>> workers = new ArrayList<>();
            for (int w = 0; w < WORKERS; w++) {
                Random random = new Random(seed + w);
                workers.add(pool.submit(() -> {
                    while (hostileFrames.get() < target) {
                        if (random.nextInt(100) < 88) {
                            hostile(receiver.address, random);
                        } else {
                            member(receiver.address, random);
                        }
                    }
                    return null;
                }));
            }
            // Meanwhile the legitimate peer sends a frame after every 300 hostile connections and waits for it.
            Future<?> checker = pool.submit(() -> {
                while (!workers.stream().allMatch(Future::isDone)) {
                    long c = hostileConnections.get();
                    await("300 more fuzz connections", Duration.ofSeconds(60),
                            () -> hostileConnections.get() - c >= 300 || workers.stream().allMatch(Future::isDone));
                    assertPeerServed.run();
                }
                return null;
            });
            for (Future<?> f : workers) {
                f.get();
            }
            checker.get();
            pool.shutdown();
            assertPeerServed.run();

            await("every bad input counted", WAIT, () -> receiver.refusedTotal() == expectedRefusals.get(),
                    () -> "refused " + receiver.refusedTotal() + ", expected " + expectedRefusals.get());
            await("every member frame at the engine", WAIT,
                    () -> inbound.frameCount.get() - fromPeer.get() == expectedAtEngine.get(),
                    () -> "engine got " + (inbound.frameCount.get() - fromPeer.get()) + ", expected "
                            + expectedAtEngine.get());
            await("only the legitimate connection left", WAIT,
                    () -> receiver.transport.connectionCount() == baselineConnections,
                    () -> receiver.transport.connectionCount() + " connections");
            long heapAfter = usedHeapAfterGc();
            double seconds = (System.nanoTime() - started) / 1e9;
            System.out.printf("FrameFuzzTest: %d frames (%d hostile), %d hostile connections, %d refusals, %d frames "
                    + "at the engine, %.1f s, heap %d -> %d KiB%n", framesSent.get(), hostileFrames.get(),
                    hostileConnections.get(),
                    expectedRefusals.get(), expectedAtEngine.get(), seconds, heapBefore >> 10, heapAfter >> 10);
            assertEquals(0, fromOthers.get(), "no unauthenticated identity reached the engine");
            assertTrue(hostileFrames.get() >= target, "hostile frames: " + hostileFrames.get());
            assertTrue(hostileConnections.get() >= target / 20, "many connections: " + hostileConnections.get());
            assertTrue(heapAfter - heapBefore < HEAP_MARGIN_BYTES, "heap grew from " + heapBefore + " to "
                    + heapAfter);
            assertEquals(0, peer.inbound.sendFailures.size(), "the legitimate peer never lost its connection");
            assertTrue(peer.inbound.disconnects.isEmpty(), "the legitimate connection stayed up");
        }
    }

    private static long usedHeapAfterGc() {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        System.gc();
        return memory.getHeapMemoryUsage().getUsed();
    }

    // ---- hostile connections: no secret

    private void hostile(InetSocketAddress address, Random r) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int frames = 1 + r.nextInt(10);
        for (int i = 0; i < frames; i++) {
            byte[] f = i == 0 && r.nextInt(5) != 0 ? hello(r) : someFrame(r);
            bytes.writeBytes(r.nextInt(10) < 7 ? mutate(f, r) : f);
        }
        try (Socket s = connect(address)) {
            s.getOutputStream().write(bytes.toByteArray());
            s.shutdownOutput();
            drainUntilClosed(s);
        }
        framesSent.addAndGet(frames);
        hostileFrames.addAndGet(frames);
        hostileConnections.incrementAndGet();
        expectedRefusals.incrementAndGet();
    }

    private byte[] hello(Random r) {
        Member m = identities.get(r.nextInt(identities.size()));
        return FrameCodec.encode(Handshake.hello(CLUSTER, m, r.nextInt(8) == 0, Handshake.newNonce(secureRandom)));
    }

    private static byte[] someFrame(Random r) {
        return switch (r.nextInt(5)) {
            case 0 -> FrameCodec.encode(new Frame(FrameType.DATA, r.nextInt(4), r.nextInt(256), 0, r.nextLong(),
                    ByteBuffer.wrap(randomBytes(r, r.nextInt(300)))));
            case 1 -> FrameCodec.encode(Frame.control(FrameType.ACK, r.nextLong()));
            case 2 -> FrameCodec.encode(new Frame(FrameType.AUTH, 0, 0, 0, 0, ByteBuffer.wrap(randomBytes(r, 32))));
            case 3 -> FrameCodec.encode(Frame.control(FrameType.PING, r.nextLong()));
            default -> randomBytes(r, 1 + r.nextInt(600));
        };
    }

    static byte[] mutate(byte[] f, Random r) {
        byte[] b = f.clone();
        switch (r.nextInt(8)) {
            case 0 -> {
                for (int i = 1 + r.nextInt(4); i > 0 && b.length > 0; i--) {
                    int at = r.nextInt(b.length);
                    b[at] ^= (byte) (1 << r.nextInt(8));
                }
            }
            case 1 -> b = Arrays.copyOf(b, r.nextInt(b.length + 1));
            case 2 -> {
                if (b.length >= FrameCodec.HEADER_BYTES) {
                    int length = r.nextBoolean() ? r.nextInt() : Math.max(0, b.length - FrameCodec.HEADER_BYTES
                            + r.nextInt(64) - 32);
                    ByteBuffer.wrap(b).putInt(FrameCodec.LENGTH_OFFSET, length);
                }
            }
            case 3 -> {
                if (b.length > 3) {
                    b[3] = (byte) r.nextInt(16);
                }
            }
            case 4 -> {
                if (b.length > 2) {
                    b[2] = (byte) r.nextInt(256);
                }
            }
            case 5 -> {
                if (b.length > 1) {
                    b[r.nextInt(2)] = (byte) r.nextInt(256);
                }
            }
            case 6 -> {
                byte[] more = randomBytes(r, 1 + r.nextInt(64));
                byte[] out = Arrays.copyOf(b, b.length + more.length);
                System.arraycopy(more, 0, out, b.length, more.length);
                b = out;
            }
            default -> {
                if (b.length > FrameCodec.HEADER_BYTES) {
                    b[FrameCodec.HEADER_BYTES + r.nextInt(b.length - FrameCodec.HEADER_BYTES)] = (byte) r.nextInt();
                }
            }
        }
        return b;
    }

    // ---- member connections: the secret, then well-framed random frames

    private void member(InetSocketAddress address, Random r) throws IOException {
        Member me = identities.get(r.nextInt(identities.size()));
        try (Socket s = connect(address)) {
            Frame hello = Handshake.hello(CLUSTER, me, false, Handshake.newNonce(secureRandom));
            s.getOutputStream().write(FrameCodec.encode(hello));
            Frame ack = readFrame(s.getInputStream());
            if (ack.type() != FrameType.HELLO_ACK) {
                throw new AssertionError("member handshake refused: " + Handshake.readRefuse(ack));
            }
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            bytes.writeBytes(FrameCodec.encode(Handshake.auth(hello, ack, SECRET)));
            int frames = 50 + r.nextInt(250);
            long atEngine = 0;
            for (int i = 0; i < frames; i++) {
                FrameType t = MEMBER_TYPE_LIST[r.nextInt(MEMBER_TYPE_LIST.length)];
                Frame f = new Frame(t, r.nextInt(256), r.nextInt(256), r.nextLong() & 0xFFFF_FFFFL, r.nextLong(),
                        ByteBuffer.wrap(randomBytes(r, r.nextInt(4) == 0 ? r.nextInt(2048) : r.nextInt(64))));
                bytes.writeBytes(FrameCodec.encode(f));
                if (t != FrameType.PING && t != FrameType.PONG) {
                    atEngine++;
                }
            }
            boolean corruptTail = false;
            if (r.nextBoolean()) {
                byte[] tail = mutate(FrameCodec.encode(Frame.control(FrameType.ACK, r.nextLong())), r);
                if (invalidHeader(tail)) {
                    bytes.writeBytes(tail);
                    corruptTail = true;
                    frames++;
                }
            }
            if (!corruptTail && r.nextBoolean()) {
                bytes.writeBytes(FrameCodec.encode(Handshake.goodbye(false)));
                frames++;
            }
            s.getOutputStream().write(bytes.toByteArray());
            s.shutdownOutput();
            drainUntilClosed(s);
            framesSent.addAndGet(frames);
            expectedAtEngine.addAndGet(atEngine);
            if (corruptTail) {
                expectedRefusals.incrementAndGet();
            }
        }
    }

    /** True when the receiver must refuse these bytes as a header: at least a header long, and not a valid one. */
    private static boolean invalidHeader(byte[] b) {
        if (b.length < FrameCodec.HEADER_BYTES) {
            return false;
        }
        try {
            FrameCodec.readHeader(ByteBuffer.wrap(b), TestNode.MAX_FRAME_BYTES);
            return false;
        } catch (WireException e) {
            return true;
        }
    }

    // ---- plumbing

    private static Socket connect(InetSocketAddress address) throws IOException {
        Socket s = new Socket();
        s.connect(address, 5000);
        s.setSoTimeout(10_000);
        s.setTcpNoDelay(true);
        return s;
    }

    /** Reads and drops whatever the receiver sends until it closes; bounded by the socket's read timeout. */
    private static void drainUntilClosed(Socket s) throws IOException {
        byte[] buf = new byte[8192];
        InputStream in = s.getInputStream();
        try {
            while (in.read(buf) >= 0) {
                // Answers (HELLO_ACK, PONG, REFUSE) are not checked here; the counters are.
                continue;
            }
        } catch (SocketException e) {
            // A reset after the receiver's REFUSE: it closed, which is what is waited for.
            return;
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the receiver kept a fuzz connection open for 10 s", e);
        }
    }

    private static Frame readFrame(InputStream in) throws IOException {
        byte[] header = in.readNBytes(FrameCodec.HEADER_BYTES);
        FrameCodec.Header h = FrameCodec.readHeader(ByteBuffer.wrap(header), Integer.MAX_VALUE);
        return h.withPayload(ByteBuffer.wrap(in.readNBytes(h.payloadLength())));
    }

    private static byte[] randomBytes(Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }
}
