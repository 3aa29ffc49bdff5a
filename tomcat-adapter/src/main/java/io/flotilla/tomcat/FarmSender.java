package io.flotilla.tomcat;

import io.flotilla.Delivery;
import io.flotilla.Member;
import io.flotilla.Node;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.juli.logging.Log;
import org.apache.juli.logging.LogFactory;

/**
 * The farm's sending side: announcements ({@code SYNC}, {@code OFFER}, {@code REQUEST}, {@code REMOVE}) sent {@code
 * ASYNC} (a lost one is repaired by the next sync), and WAR streams: {@code BEGIN}, then the deployed file in {@link
 * FarmMessages#CHUNK_BYTES} chunks, each sent {@code PROCESSED} (acknowledged once the receiver wrote it), at most
 * {@link #WINDOW} unacknowledged at once: back-pressure, and never more than {@code WINDOW} chunks in memory. A
 * stream stops at the first chunk the receiver refuses or does not acknowledge within {@code maxValidTime}. The file
 * streamed is the one deployed: a newer version moved into its place meanwhile does not change the open file.
 *
 * <p>Threading: safe from any thread; streams run one at a time on its thread ({@code -farm-send-1}).
 */
final class FarmSender implements AutoCloseable {
    private static final Log log = LogFactory.getLog(FarmSender.class);
    /** Chunks of one stream in flight at once (4 x 64 KiB per receiver). */
    static final int WINDOW = 4;

    private final Node node;
    private final Path deployDir;
    private final Duration maxValidTime;
    private final ExecutorService executor;
    /** The streams queued or under way: member, name and hash. */
    private final Set<String> pending = ConcurrentHashMap.newKeySet();

    FarmSender(Node node, Path deployDir, Duration maxValidTime, ThreadFactory thread) {
        this.node = node;
        this.deployDir = deployDir;
        this.maxValidTime = maxValidTime;
        this.executor = Executors.newSingleThreadExecutor(thread);
    }

    /** An announcement to one member; a failure is logged at DEBUG. */
    void announce(Member to, ByteBuffer message) {
        node.send(to, FarmMessages.TOPIC, message, Delivery.ASYNC).exceptionally(x -> {
            log.debug("FarmDeployer: a message to " + to.describe() + " failed: " + x);
            return null;
        });
    }

    /** An announcement to every other member; a failure is logged at DEBUG. */
    void announce(ByteBuffer message) {
        node.broadcast(FarmMessages.TOPIC, message, Delivery.ASYNC).exceptionally(x -> {
            log.debug("FarmDeployer: a message to the members failed: " + x);
            return null;
        });
    }

    /**
     * Streams the deployed file of {@code e} to {@code to}, after the streams asked for before; nothing when that
     * stream is queued or under way already (a repeated request).
     */
    void stream(Member to, FarmMessages.Entry e) {
        String key = to.id() + "/" + e.name() + "/" + e.sha256();
        if (pending.add(key)) {
            FarmDeployment.run(executor, () -> {
                try {
                    send(to, e);
                } finally {
                    pending.remove(key);
                }
            });
        }
    }

    /** The streams queued or under way. */
    int pending() {
        return pending.size();
    }

    private void send(Member to, FarmMessages.Entry e) {
        long transfer = ThreadLocalRandom.current().nextLong();
        Deque<CompletableFuture<Void>> window = new ArrayDeque<>();
        try (FileChannel ch = FileChannel.open(FarmReceiver.inside(deployDir, e.name()), StandardOpenOption.READ)) {
            window.add(processed(to, FarmMessages.begin(transfer, e)));
            for (long offset = 0; offset < e.size(); ) {
                int n = (int) Math.min(FarmMessages.CHUNK_BYTES, e.size() - offset);
                ByteBuffer chunk = FarmMessages.chunk(transfer, offset, n);
                while (chunk.hasRemaining()) {
                    if (ch.read(chunk) < 0) {
                        throw new EOFException(e.name() + " is shorter than its " + e.size() + " bytes");
                    }
                }
                window.add(processed(to, chunk.flip()));
                offset += n;
                if (window.size() >= WINDOW) {
                    await(window.poll());
                }
            }
            while (!window.isEmpty()) {
                await(window.poll());
            }
            log.debug("FarmDeployer: streamed " + e.describe() + " to " + to.describe());
        } catch (InterruptedException x) {
            Thread.currentThread().interrupt();
        } catch (IOException | ExecutionException | TimeoutException | IllegalArgumentException x) {
            log.warn("FarmDeployer: streaming " + e.name() + " to " + to.describe() + " failed, it does not deploy "
                    + "it: " + (x instanceof ExecutionException ? x.getCause() : x));
        }
    }

    private CompletableFuture<Void> processed(Member to, ByteBuffer message) {
        return node.send(to, FarmMessages.TOPIC, message, Delivery.PROCESSED).toCompletableFuture();
    }

    private void await(CompletableFuture<Void> f) throws InterruptedException, ExecutionException, TimeoutException {
        f.get(maxValidTime.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Stops the stream under way (its receiver deletes what it got) and waits for it at most 5 s. */
    @Override
    public void close() {
        FarmDeployment.stop(executor, "a WAR stream");
    }
}
