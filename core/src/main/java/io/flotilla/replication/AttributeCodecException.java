package io.flotilla.replication;

/**
 * A session attribute value could not be encoded or decoded. Names the attribute and, where known, the class,
 * and says how to allow it. The Tomcat layer turns it into a failing {@code setAttribute} (or a WARN and a
 * counter when configured to skip); the rest of the session replicates either way.
 *
 * <p>Threading: immutable, safe to share.
 */
public final class AttributeCodecException extends CodecException {
    private static final long serialVersionUID = 1L;
    private final String attributeName;
    private final String className;

    AttributeCodecException(Reason reason, String attributeName, String className, String message,
            Throwable cause) {
        super(reason, message, cause);
        this.attributeName = attributeName;
        this.className = className;
    }

    /** The attribute whose value was refused; null when the value was not an attribute. */
    public String attributeName() {
        return attributeName;
    }

    /** The class that was refused or failed; null when not known (malformed input). */
    public String className() {
        return className;
    }
}
