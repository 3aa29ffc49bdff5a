package io.flotilla.tomcat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A WAR counts only once its size and time held still over two checks; removals are reported once. */
class FarmWatcherTest {
    @TempDir
    Path watchDir;
    @TempDir
    Path base;

    private static List<FarmWatcher.Change> changes(FarmWatcher w) throws Exception {
        return new ArrayList<>(w.check());
    }

    @Test
    void aWarIsTakenOnlyWhenItHeldStillAndAgainOnlyAfterItChanged() throws Exception {
        FarmWatcher w = new FarmWatcher(watchDir);
        Path war = watchDir.resolve("app.war");
        Files.write(war, new byte[100]);
        Files.write(watchDir.resolve("notes.txt"), new byte[1]);
        Files.write(watchDir.resolve("..odd.war"), new byte[1]);
        assertEquals(List.of(), changes(w), "first sight: not known to be complete");
        Files.write(war, new byte[50], StandardOpenOption.APPEND); // still being copied in
        assertEquals(List.of(), changes(w), "it grew since the last check");
        assertEquals(List.of(new FarmWatcher.Change("app.war", war, false)), changes(w), "held still: taken");
        assertEquals(List.of(), changes(w), "reported once");
        Files.setLastModifiedTime(war, FileTime.fromMillis(Files.getLastModifiedTime(war).toMillis() + 5000));
        assertEquals(List.of(), changes(w), "a new version: not settled yet");
        assertEquals(List.of(new FarmWatcher.Change("app.war", war, false)), changes(w), "the new version");
        Files.delete(war);
        assertEquals(List.of(new FarmWatcher.Change("app.war", war, true)), changes(w), "removed");
        assertEquals(List.of(), changes(w));
    }

    @Test
    void aWarRemovedBeforeItSettledIsNeverReported() throws Exception {
        FarmWatcher w = new FarmWatcher(watchDir);
        Path war = watchDir.resolve("app.war");
        Files.write(war, new byte[10]);
        changes(w);
        Files.delete(war);
        assertEquals(List.of(), changes(w));
        assertEquals(List.of(), changes(w));
    }

    @Test
    void settingsNameEveryBadAttributeAndTheirValue() {
        List<String> problems = new ArrayList<>();
        FarmSettings s = FarmSettings.parse(Map.of("watchEnabled", "yes", "processDeployFrequency", "0",
                "maxWarBytes", "-1", "maxValidTime", "x", "watchDr", "/tmp/x"), base, problems);
        assertNull(s);
        String all = String.join("\n", problems);
        for (String expected : List.of("watchEnabled=yes is invalid", "processDeployFrequency=0 is invalid",
                "maxWarBytes=-1 is invalid", "maxValidTime=x is invalid", "watchDr=/tmp/x is invalid")) {
            assertTrue(all.contains(expected), expected + " in " + all);
        }
        problems.clear();
        assertNull(FarmSettings.parse(Map.of("watchEnabled", "true"), base, problems));
        assertTrue(problems.get(0).startsWith("watchDir= is invalid"), problems.toString());
        problems.clear();
        assertNull(FarmSettings.parse(Map.of("watchEnabled", "true", "watchDir", "farm", "tempDir", "farm"), base,
                problems));
        assertTrue(problems.get(0).startsWith("watchDir=farm is invalid: a folder other than tempDir"),
                problems.toString());
    }

    @Test
    void settingsHaveStocksDefaultsAndResolveAgainstCatalinaBase() {
        List<String> problems = new ArrayList<>();
        FarmSettings s = FarmSettings.parse(Map.of("watchEnabled", "true", "watchDir", "farm"), base, problems);
        assertEquals(List.of(), problems);
        assertEquals(base.resolve("farm"), s.watchDir());
        assertEquals(base.resolve("work/flotilla-farm"), s.tempDir());
        assertNull(s.deployDir(), "the Host's appBase");
        assertEquals(2, s.processDeployFrequency());
        assertEquals(300, s.maxValidTime().toSeconds());
        assertEquals(512L << 20, s.maxWarBytes());
        assertEquals(false, s.trustNetwork());
    }
}
