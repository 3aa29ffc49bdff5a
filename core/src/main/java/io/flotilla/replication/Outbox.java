package io.flotilla.replication;

import io.flotilla.Delivery;
import io.flotilla.DeliveryException;
import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.MemberUnreachableException;
import io.flotilla.Message;
import io.flotilla.Node;
import io.flotilla.RemoteProcessingException;
import io.flotilla.SendQueueFullException;
import io.flotilla.View;
import io.flotilla.internal.DeliveryFuture;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;

/**
 * One engine's way onto its node: its member, the view, and the sends on its two topics with the engine's namespace
 * header (see {@link ReplicationMessages}). Every part of the engine sends through it; none holds the node.
 *
 * <p>Threading: safe from any thread; holds no lock (the node's sends only enqueue). {@link #close()} makes later
 * quiet sends do nothing.
 */
final class Outbox {
    private final Node node;
    private final Member self;
    private final ReplicationConfig config;
    private final byte[] namespace;
    private final byte[] deltaHeader;
    private volatile boolean closed;

    Outbox(Node node, ReplicationConfig config) {
        this.node = node;
        this.self = node.localMember();
        this.config = config;
        this.namespace = config.namespace().getBytes(StandardCharsets.UTF_8);
        this.deltaHeader = ReplicationMessages.header(ReplicationMessages.DELTA, namespace);
    }

    Node node() {
        return node;
    }

    Member self() {
        return self;
    }

    View view() {
        return node.view();
    }

    boolean closed() {
        return closed;
    }

    void close() {
        closed = true;
    }

    /** The namespace header and the DELTA kind, which a delta is encoded behind (no copy before the node). */
    byte[] deltaHeader() {
        return deltaHeader;
    }

    /** The message after this engine's namespace header; null when it is another engine's. */
    ByteBuffer unwrap(Message m) {
        return ReplicationMessages.unwrapNamespace(m.payload().duplicate(), namespace);
    }

    CompletionStage<Void> send(Collection<Member> to, int topic, ByteBuffer msg, Delivery delivery) {
        return sendWrapped(to, topic, ReplicationMessages.wrapNamespace(msg, namespace), delivery);
    }

    /** Sends a message that already starts with this engine's namespace header. */
    CompletionStage<Void> sendWrapped(Collection<Member> to, int topic, ByteBuffer msg, Delivery delivery) {
        return sendWrapped(to, topic, msg, delivery, false);
    }

    /**
     * As {@link #sendWrapped(Collection, int, ByteBuffer, Delivery)}; {@code queued}: no thread blocks on the stage,
     * so the message goes through the transport's I/O thread with others ({@link Node#sendQueued}).
     */
    CompletionStage<Void> sendWrapped(Collection<Member> to, int topic, ByteBuffer msg, Delivery delivery,
            boolean queued) {
        try {
            return queued ? node.sendQueued(to, topic, msg, delivery) : node.send(to, topic, msg, delivery);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** A replication message to one member, {@code PROCESSED}: completes once that member's engine processed it. */
    CompletionStage<Void> sendProcessed(Member to, ByteBuffer msg) {
        return send(List.of(to), config.replicationTopic(), msg, Delivery.PROCESSED);
    }

    /** An ASYNC replication message; nothing when there is nobody to send to or the engine is closed. */
    void sendQuietly(Collection<Member> to, ByteBuffer msg) {
        sendQuietly(to, config.replicationTopic(), msg);
    }

    void sendQuietly(Collection<Member> to, int topic, ByteBuffer msg) {
        if (to.isEmpty() || closed) {
            return;
        }
        send(to, topic, msg, Delivery.ASYNC);
    }

    /**
     * Completes when {@code a} and {@code b} both did: normally when both succeeded, otherwise with the first failure,
     * every failure of the other suppressed in it, as a send to several members fails ({@link #failures} lists them
     * all). Completes on the thread that completes the last of the two; dependents run as on {@code a}'s.
     */
    static CompletionStage<Void> both(CompletionStage<Void> a, CompletionStage<Void> b) {
        CompletableFuture<Void> result = DeliveryFuture.derive(a, b);
        AtomicInteger left = new AtomicInteger(2);
        Throwable[] first = new Throwable[1];
        BiConsumer<Void, Throwable> one = (v, e) -> {
            if (e != null) {
                synchronized (first) {
                    if (first[0] == null) {
                        first[0] = cause(e);
                    } else {
                        failures(e).forEach(first[0]::addSuppressed);
                    }
                }
            }
            if (left.decrementAndGet() == 0) {
                Throwable failed;
                synchronized (first) {
                    failed = first[0];
                }
                if (failed == null) {
                    result.complete(null);
                } else {
                    result.completeExceptionally(failed);
                }
            }
        };
        whenCompleteInline(a, one);
        whenCompleteInline(b, one);
        return result;
    }

    /** The cause of a failed stage, and the failures suppressed in it (one per member of a multi-member send). */
    static List<Throwable> failures(Throwable e) {
        Throwable t = cause(e);
        List<Throwable> all = new ArrayList<>();
        all.add(t);
        all.addAll(List.of(t.getSuppressed()));
        return all;
    }

    static Throwable cause(Throwable e) {
        return e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    }

    /** The members a failed send gave up on (abandoned or refused), for repairs. */
    static List<MemberId> abandoned(Throwable e) {
        List<MemberId> out = new ArrayList<>();
        for (Throwable x : failures(e)) {
            if ((x instanceof MemberUnreachableException || x instanceof SendQueueFullException)
                    && ((DeliveryException) x).member() != null) {
                out.add(((DeliveryException) x).member().id());
            }
        }
        return out;
    }

    /**
     * The members that answered a failed {@code PROCESSED} send with "no listener for the topic": their engine does
     * not listen (yet, or any more), so they hold nothing of it.
     */
    static List<MemberId> notListening(Throwable e) {
        List<MemberId> out = new ArrayList<>();
        for (Throwable x : failures(e)) {
            if (isNotListening(x)) {
                out.add(((DeliveryException) x).member().id());
            }
        }
        return out;
    }

    /** The members that refused a failed {@code PROCESSED} delta for lack of its base ({@link MissingCopyException}). */
    static List<MemberId> missingCopy(Throwable e) {
        List<MemberId> out = new ArrayList<>();
        for (Throwable x : failures(e)) {
            if (x instanceof RemoteProcessingException r && r.member() != null
                    && r.remoteError().startsWith(MissingCopyException.PREFIX)) {
                out.add(r.member().id());
            }
        }
        return out;
    }

    /** Whether {@code x} is a member's "no listener for the topic" answer. */
    static boolean isNotListening(Throwable x) {
        return x instanceof RemoteProcessingException r && r.noListener() && r.member() != null;
    }

    /**
     * Runs the engine's own short, non-blocking {@code hook} on the thread that completes {@code stage} (for a send:
     * the I/O thread that read the acknowledgement) instead of handing it to the delivery executor.
     */
    static <T> void whenCompleteInline(CompletionStage<T> stage, BiConsumer<? super T, ? super Throwable> hook) {
        if (stage instanceof DeliveryFuture<T> f) {
            f.whenCompleteInline(hook);
        } else {
            stage.whenComplete(hook);
        }
    }
}
