package io.flotilla.tomcat;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Polls {@code watchDir} for WARs. A file counts as complete only when its size and modification time are the same
 * at two checks in a row (a WAR still being copied in is not taken); it is reported once then, and again only after
 * it changed and settled again. A reported WAR that disappears is reported removed. Names that {@link
 * FarmReceiver#checkName} refuses are skipped. The first check reports nothing (it has nothing to compare with); the
 * second reports every settled WAR, those present before the start included (stock's watcher does the same).
 *
 * <p>Threading: not thread-safe; one thread calls {@link #check}.
 */
final class FarmWatcher {
    /** What a check found. */
    record Change(String name, Path file, boolean removed) {
    }

    private record Seen(long size, long modified) {
    }

    private final Path dir;
    private final Map<String, Seen> last = new HashMap<>();
    private final Map<String, Seen> reported = new HashMap<>();

    FarmWatcher(Path dir) {
        this.dir = dir;
    }

    /** Lists {@code watchDir} once; returns the WARs that settled (new or changed) and those removed. */
    List<Change> check() throws IOException {
        Map<String, Seen> now = new HashMap<>();
        if (Files.isDirectory(dir)) {
            try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.war")) {
                for (Path f : files) {
                    String name = f.getFileName().toString();
                    BasicFileAttributes a;
                    try {
                        FarmReceiver.checkName(name);
                        a = Files.readAttributes(f, BasicFileAttributes.class);
                    } catch (IllegalArgumentException | IOException e) {
                        continue; // a name the farm refuses, or a file removed while listing: not a WAR to deploy
                    }
                    if (a.isRegularFile()) {
                        now.put(name, new Seen(a.size(), a.lastModifiedTime().toMillis()));
                    }
                }
            }
        }
        List<Change> changes = new ArrayList<>();
        for (Map.Entry<String, Seen> e : now.entrySet()) {
            Seen before = last.get(e.getKey());
            if (e.getValue().equals(before) && !e.getValue().equals(reported.get(e.getKey()))) {
                reported.put(e.getKey(), e.getValue());
                changes.add(new Change(e.getKey(), dir.resolve(e.getKey()), false));
            }
        }
        for (String name : List.copyOf(reported.keySet())) {
            if (!now.containsKey(name)) {
                reported.remove(name);
                changes.add(new Change(name, dir.resolve(name), true));
            }
        }
        last.clear();
        last.putAll(now);
        return changes;
    }
}
