package io.flotilla.bench;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The session changes the delta codec benchmarks replicate, identical for stock and Flotilla.
 *
 * <ul>
 *   <li>{@link #INTEGER}: one {@code Integer} attribute set (a counter, the smallest useful change);</li>
 *   <li>{@link #TEN}: ten small attributes set (Integer, Long, Boolean and short String values);</li>
 *   <li>{@link #GRAPH}: one attribute holding an application object graph, a {@link Cart} of
 *       {@link LineItem}s with a tag map, 2,064 bytes once Java-serialized on its own.</li>
 * </ul>
 * The session id has Tomcat's default form (32 hex digits and a jvmRoute), and the manager name is what
 * {@code SimpleTcpCluster} gives a context's manager ({@code host#path}).
 *
 * <p>Threading: immutable; {@link #attributes()} builds a fresh map each call.
 */
enum DeltaCase {
    INTEGER, TEN, GRAPH;

    /** A session id as Tomcat makes them: 16 random bytes in hex, then {@code .jvmRoute}. */
    static final String SESSION_ID = "7D1E7A8F0C4B4E6A9F2D3C1B0A998877.node1";
    /** The name {@code SimpleTcpCluster} gives the manager of context {@code /shop} on host localhost. */
    static final String MANAGER_NAME = "localhost#/shop";

    /** The case of a JMH parameter value: its lower-case name. */
    static DeltaCase of(String param) {
        return valueOf(param.toUpperCase(Locale.ROOT));
    }

    /** The lower-case name used in parameters and metric names. */
    String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The attributes set in the request, in the order they are set. */
    Map<String, Object> attributes() {
        Map<String, Object> a = new LinkedHashMap<>();
        switch (this) {
            case INTEGER -> a.put("counter", Integer.valueOf(42));
            case TEN -> {
                a.put("visits", Integer.valueOf(17));
                a.put("lastPage", "/shop/cart");
                a.put("userId", Long.valueOf(1_000_457L));
                a.put("loggedIn", Boolean.TRUE);
                a.put("locale", "en_GB");
                a.put("theme", "dark");
                a.put("cartSize", Integer.valueOf(3));
                a.put("currency", "EUR");
                a.put("lastSeen", Long.valueOf(1_732_000_000_000L));
                a.put("newsletter", Boolean.FALSE);
            }
            case GRAPH -> a.put("cart", Cart.sample());
        }
        return a;
    }

    /** A shopping cart: a typical application object graph kept in a session. Immutable once built. */
    public static final class Cart implements Serializable {
        private static final long serialVersionUID = 1L;

        private final String customerId;
        private final long createdMillis;
        private final List<LineItem> items;
        private final Map<String, String> tags;

        public Cart(String customerId, long createdMillis, List<LineItem> items, Map<String, String> tags) {
            this.customerId = customerId;
            this.createdMillis = createdMillis;
            this.items = new ArrayList<>(items);
            this.tags = new HashMap<>(tags);
        }

        static Cart sample() {
            List<LineItem> items = new ArrayList<>();
            for (int i = 0; i < 25; i++) {
                items.add(new LineItem("SKU-" + (10_000 + i * 37), "Item number " + i + " in the catalogue",
                        1 + i % 3, 499L + 250L * i));
            }
            Map<String, String> tags = new HashMap<>();
            tags.put("campaign", "autumn-sale");
            tags.put("channel", "web");
            tags.put("coupon", "WELCOME10");
            return new Cart("customer-000457", 1_732_000_000_000L, items, tags);
        }

        public String customerId() {
            return customerId;
        }

        public long createdMillis() {
            return createdMillis;
        }

        public List<LineItem> items() {
            return Collections.unmodifiableList(items);
        }

        public Map<String, String> tags() {
            return Collections.unmodifiableMap(tags);
        }
    }

    /** One line of a {@link Cart}. Immutable. */
    public static final class LineItem implements Serializable {
        private static final long serialVersionUID = 1L;

        private final String sku;
        private final String title;
        private final int quantity;
        private final long unitPriceCents;

        public LineItem(String sku, String title, int quantity, long unitPriceCents) {
            this.sku = sku;
            this.title = title;
            this.quantity = quantity;
            this.unitPriceCents = unitPriceCents;
        }

        public String sku() {
            return sku;
        }

        public String title() {
            return title;
        }

        public int quantity() {
            return quantity;
        }

        public long unitPriceCents() {
            return unitPriceCents;
        }
    }
}
