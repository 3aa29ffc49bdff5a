package sessions;

import java.io.Serializable;
import java.util.Vector;

/**
 * Stands for Tomcat's {@code examples} cart ({@code sessions.DummyCart}, a {@code Serializable} bean the examples
 * keep in the session): an application's own session class that names no allowlist. The 9.0 examples' cart holds a
 * {@code Vector}, as this one does. Tests copy its class file into a web application's {@code WEB-INF/classes}, so
 * the application's class loader defines it.
 */
public class DummyCart implements Serializable {
    private static final long serialVersionUID = 1L;

    final Vector<String> items = new Vector<>();
    String submit;

    public void add(String item) {
        items.add(item);
        submit = "add";
    }

    @Override
    public String toString() {
        return "items=" + items;
    }
}
