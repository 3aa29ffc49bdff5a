package io.flotilla;

/**
 * A configuration value was refused. The message names the attribute, the value seen and what is allowed.
 *
 * <p>Threading: immutable, safe to share.
 */
public final class ConfigurationException extends FlotillaException {
    private static final long serialVersionUID = 1L;

    public ConfigurationException(String message) {
        super(message);
    }

    /** Builds the standard message: {@code attribute=value is invalid: allowed}. */
    public static ConfigurationException invalid(String attribute, Object value, String allowed) {
        return new ConfigurationException(attribute + "=" + value + " is invalid: " + allowed);
    }
}
