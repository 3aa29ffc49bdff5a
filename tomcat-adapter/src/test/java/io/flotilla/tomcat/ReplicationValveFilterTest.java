package io.flotilla.tomcat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The valve's URI filter answers exactly as its regex would, also where it takes the suffix shortcut. */
class ReplicationValveFilterTest {
    private static final List<String> URIS = List.of("/app/set", "/app/logo.gif", "/app/a.js", "/app/a.json",
            "/app/x.gifx", "/app/.css", "/app/dir.html/page", "/app/line\n.txt", "/app/line.txt", "gif", "/app/a.GIF",
            "");

    @Test
    void theDefaultListOfExtensionsTakesTheShortcutAndAgreesWithTheRegex() {
        ReplicationValve.UriFilter f = ReplicationValve.UriFilter.of(Pattern.compile(ReplicationValve.DEFAULT_FILTER));
        assertNotNull(f.suffixes(), "stock's documented form is recognised");
        agrees(f);
    }

    @Test
    void anyOtherRegexIsMatchedAsARegex() {
        for (String regex : List.of(".*\\.gif|/app/static/.*", "(.*\\.gif|.*\\.js)", ".*\\.g.f", ".*")) {
            ReplicationValve.UriFilter f = ReplicationValve.UriFilter.of(Pattern.compile(regex));
            assertNull(f.suffixes(), regex);
            agrees(f);
        }
    }

    private static void agrees(ReplicationValve.UriFilter f) {
        for (String uri : URIS) {
            assertEquals(f.pattern().matcher(uri).matches(), f.matches(uri), f.pattern() + " on " + uri);
        }
    }
}
