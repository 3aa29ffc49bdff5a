package io.flotilla.tomcat;

import io.flotilla.Delivery;
import io.flotilla.Member;
import io.flotilla.MembershipListener;
import io.flotilla.Message;
import io.flotilla.MessageListener;
import io.flotilla.Node;
import io.flotilla.Registration;
import io.flotilla.View;
import java.nio.ByteBuffer;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A {@link Node} for tests of code on one member: it records what is sent (acknowledged at once, or, with {@link
 * #holdProcessed}, {@code PROCESSED} sends only when the test completes them) and delivers what the test hands it to
 * the message listeners, on the test's thread.
 *
 * <p>Threading: safe from any thread.
 */
final class RecordingNode implements Node {
    /** A sent message; {@code done} completes its send. */
    record Sent(Member to, ByteBuffer payload, Delivery delivery, CompletableFuture<Void> done) {
        byte kind() {
            return payload.get(1);
        }
    }

    private final Member self;
    private final List<Member> others;
    private final boolean holdProcessed;
    final List<Sent> sends = new CopyOnWriteArrayList<>();
    private final List<MessageListener> listeners = new CopyOnWriteArrayList<>();

    RecordingNode(Member self, List<Member> others, boolean holdProcessed) {
        this.self = self;
        this.others = others;
        this.holdProcessed = holdProcessed;
    }

    /** The messages sent whose second byte (the farm's kind) is {@code kind}. */
    List<Sent> sent(byte kind) {
        return sends.stream().filter(s -> s.kind() == kind).toList();
    }

    void deliver(Member from, int topic, ByteBuffer payload) throws Exception {
        for (MessageListener l : listeners) {
            l.onMessage(new Message(from, topic, Delivery.PROCESSED, payload.asReadOnlyBuffer()));
        }
    }

    @Override
    public Member localMember() {
        return self;
    }

    @Override
    public View view() {
        List<Member> all = new CopyOnWriteArrayList<>(others);
        all.add(0, self);
        return new View(1, all);
    }

    @Override
    public CompletionStage<Void> send(Member to, int topic, ByteBuffer payload, Delivery delivery) {
        CompletableFuture<Void> done = holdProcessed && delivery == Delivery.PROCESSED ? new CompletableFuture<>()
                : CompletableFuture.completedFuture(null);
        sends.add(new Sent(to, payload.duplicate(), delivery, done));
        return done;
    }

    @Override
    public CompletionStage<Void> send(Collection<Member> to, int topic, ByteBuffer payload, Delivery delivery) {
        to.forEach(m -> send(m, topic, payload, delivery));
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public void suspect(Member member, String reason) {
    }

    @Override
    public Registration addMessageListener(int topic, MessageListener listener) {
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    @Override
    public Registration addMembershipListener(MembershipListener listener) {
        return () -> { };
    }

    @Override
    public void close() {
    }
}
