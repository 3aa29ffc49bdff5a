package io.flotilla.internal;

import io.flotilla.Delivery;
import io.flotilla.Member;
import io.flotilla.MembershipListener;
import io.flotilla.MessageListener;
import io.flotilla.Node;
import io.flotilla.NodeConfig;
import io.flotilla.Registration;
import io.flotilla.View;
import io.flotilla.spi.Clock;
import io.flotilla.spi.MembershipService;
import io.flotilla.spi.Scheduler;
import io.flotilla.spi.Transport;
import java.nio.ByteBuffer;
import java.util.Collection;
import java.util.concurrent.CompletionStage;

/** Placeholder while the delivery engine is being written. */
public final class DefaultNode implements Node {
    public DefaultNode(NodeConfig config, Clock clock, Scheduler scheduler, Transport transport,
            MembershipService membership) {
        throw new UnsupportedOperationException("not yet");
    }

    public void start() {
        throw new UnsupportedOperationException("not yet");
    }

    @Override
    public Member localMember() {
        throw new UnsupportedOperationException();
    }

    @Override
    public View view() {
        throw new UnsupportedOperationException();
    }

    @Override
    public CompletionStage<Void> send(Member to, int topic, ByteBuffer payload, Delivery delivery) {
        throw new UnsupportedOperationException();
    }

    @Override
    public CompletionStage<Void> send(Collection<Member> to, int topic, ByteBuffer payload, Delivery delivery) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Registration addMessageListener(int topic, MessageListener listener) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Registration addMembershipListener(MembershipListener listener) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void close() {
    }
}
