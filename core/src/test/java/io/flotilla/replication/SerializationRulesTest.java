package io.flotilla.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flotilla.replication.SerializationRules.Route;
import io.flotilla.replication.fixtures.Cart;
import io.flotilla.replication.fixtures.Color;
import io.flotilla.replication.fixtures.Legacy;
import java.io.Serializable;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collections;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class SerializationRulesTest {
    private final SerializationRules rules = new SerializationRules(Set.of(Cart.class.getName()));

    static class Plain implements Serializable {
        private static final long serialVersionUID = 1L;
        int value;
    }

    static class Resolving extends Plain {
        private static final long serialVersionUID = 1L;

        protected Object readResolve() {
            return this;
        }
    }

    static class InheritsResolve extends Resolving {
        private static final long serialVersionUID = 1L;
    }

    static class NotSerializable {
        int value;
    }

    static class Basket extends ArrayList<String> {
        private static final long serialVersionUID = 1L;
    }

    @Test
    void kryoForPlainClassesJavaForClassesWithAContractOrInsideTheJdk() {
        assertEquals(Route.KRYO, rules.route(Plain.class));
        assertEquals(Route.KRYO, rules.route(NotSerializable.class));
        assertEquals(Route.KRYO, rules.route(Color.class));
        assertEquals(Route.KRYO, rules.route(int[].class));
        assertEquals(Route.JAVA, rules.route(Cart.class), "opted in by name");
        assertEquals(Route.JAVA, rules.route(Legacy.class), "writeObject/readObject");
        assertEquals(Route.JAVA, rules.route(Resolving.class), "readResolve");
        assertEquals(Route.JAVA, rules.route(InheritsResolve.class), "an inherited protected readResolve");
        assertEquals(Route.JAVA, rules.route(Basket.class), "an application collection");
        assertEquals(Route.JAVA, rules.route(IllegalStateException.class), "Throwable's writeObject");
        for (Class<?> jdk : new Class<?>[] {URI.class, AtomicLong.class, PriorityQueue.class,
            Collections.synchronizedSet(Set.of()).getClass()}) {
            assertEquals(Route.JAVA, rules.route(jdk), jdk.getName());
        }
    }
}
