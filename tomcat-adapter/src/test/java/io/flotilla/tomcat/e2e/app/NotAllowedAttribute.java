package io.flotilla.tomcat.e2e.app;

import java.io.Serializable;

/**
 * A session attribute of the webapp's own class that no allowlist names: stock Tomcat replicates it with Java
 * serialization, Flotilla must refuse it with a clear error.
 *
 * <p>Threading: immutable.
 *
 * @param note any text
 */
public record NotAllowedAttribute(String note) implements Serializable {
}
