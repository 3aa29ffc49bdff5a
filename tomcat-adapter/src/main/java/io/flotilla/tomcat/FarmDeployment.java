package io.flotilla.tomcat;

import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.MembershipEvent;
import io.flotilla.Message;
import io.flotilla.Node;
import io.flotilla.Registration;
import io.flotilla.internal.NodeThreads;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;
import org.apache.juli.logging.Log;
import org.apache.juli.logging.LogFactory;

/**
 * The farm: WARs dropped into {@code watchDir} on one member are deployed on every member, and undeployed
 * everywhere when removed; a member that joins later gets the farm's current WARs. It runs on the cluster's {@link
 * Node}, topic {@link FarmMessages#TOPIC}:
 *
 * <ul>
 *   <li>A WAR that settled in {@code watchDir} ({@link FarmWatcher}) is copied to {@code tempDir} while its SHA-256
 *       is computed, moved atomically into the deploy folder and deployed here, then offered to every member
 *       ({@code OFFER}: name, size, hash, origin).
 *   <li>A member that lacks an offered version (another hash, none, or an older one) asks the member that offered it
 *       ({@code REQUEST}), which streams it ({@code BEGIN}, {@code CHUNK}s of 64 KiB, each sent {@code PROCESSED}
 *       with at most {@link FarmSender#WINDOW} in flight: back-pressure, never the whole file in memory). {@link FarmReceiver}
 *       writes it to {@code tempDir} and checks size and hash; only then is it moved into place and deployed.
 *   <li>A WAR removed from {@code watchDir} is undeployed here and everywhere ({@code REMOVE}), and the removal (name,
 *       hash, time) is remembered.
 *   <li>At start and whenever a member joins, members ask each other for their WARs ({@code SYNC}, answered by an
 *       {@code OFFER} of the WARs held and the removals remembered), so a member that joins later requests exactly
 *       the versions it lacks, and one that was away when a WAR was removed undeploys exactly that version.
 * </ul>
 *
 * Only members reach this code: with a cluster secret (or mutual TLS) every member proved it at its handshake; the
 * cluster refuses to start a farm without either unless {@code trustNetwork="true"} ({@link FarmSettings}).
 *
 * <p>Threading: the inventory, the removals, the requests sent and the hash cache ({@link WarFiles}) have one writer, the farm's worker thread
 * ({@code flotilla-<cluster>-farm-1}), which also runs every deploy and undeploy; streams go out on {@link FarmSender}'s thread
 * ({@code -farm-send-1}); chunks are written by the node's delivery threads, one sender's in order. {@link
 * #backgroundProcess} is for Tomcat's background thread; {@link #deployed} for any thread.
 */
final class FarmDeployment implements AutoCloseable {
    private static final Log log = LogFactory.getLog(FarmDeployment.class);
    /** How often, 100 ms apart, a deploy is tried again while Tomcat's deployer is busy with that application. */
    private static final int BUSY_RETRIES = 300;
    /** Removals remembered for members that come back (the oldest forgotten first). */
    private static final int MAX_REMOVED = 1000;
    /** Refusals are logged at WARN at most once in this long (a refused stream's chunks in flight are refused too). */
    private static final long REFUSAL_LOG_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** A requested version whose stream has not begun after this long is asked for again. */
    static final long REQUEST_RETRY_NANOS = TimeUnit.SECONDS.toNanos(30);
    private static final HexFormat HEX = HexFormat.of();

    private record Requested(String sha256, long atNanos, MemberId from) {
    }

    private final Node node;
    private final FarmSettings settings;
    private final FarmHost host;
    private final Path deployDir;
    private final String self;
    private final FarmReceiver receiver;
    private final FarmWatcher watcher;
    private final ScheduledExecutorService worker;
    private final FarmSender sender;
    private final Map<String, FarmMessages.Entry> inventory = new ConcurrentHashMap<>();
    /** The versions removed from the farm, by name, with the time of removal: told to members that come back. */
    private final Map<String, FarmMessages.Entry> removed = new ConcurrentHashMap<>();
    private final Map<String, Requested> requested = new HashMap<>();
    private final WarFiles files;
    private final List<Registration> registrations = new CopyOnWriteArrayList<>();
    private final AtomicBoolean started = new AtomicBoolean();
    private final TomcatMeters.FarmMeters meters;
    /** When a refusal was last logged at WARN, and how many were logged at DEBUG only since. */
    private final AtomicLong refusalLoggedNanos = new AtomicLong(Long.MIN_VALUE / 2);
    private final AtomicInteger refusalsQuiet = new AtomicInteger();
    private final LongSupplier nanos;
    private int backgroundRuns;

    /** @param nanos the monotonic clock of requests and streams ({@code System::nanoTime}; tests drive their own) */
    FarmDeployment(Node node, FarmSettings settings, FarmHost host, NodeThreads threads, TomcatMeters.FarmMeters meters,
            LongSupplier nanos) {
        this.node = node;
        this.nanos = nanos;
        this.meters = meters;
        this.settings = settings;
        this.host = host;
        this.deployDir = host.appBase().toAbsolutePath().normalize();
        this.files = new WarFiles(deployDir, settings.maxWarBytes());
        String name = node.localMember().name();
        this.self = name.isEmpty() ? node.localMember().describe() : name;
        this.receiver = new FarmReceiver(settings.tempDir(), settings.maxWarBytes(), settings.maxValidTime(), nanos);
        this.watcher = settings.watchEnabled() ? new FarmWatcher(settings.watchDir()) : null;
        this.worker = Executors.newSingleThreadScheduledExecutor(threads.factory("farm"));
        this.sender = new FarmSender(node, deployDir, settings.maxValidTime(), threads.factory("farm-send"));
    }

    /** Starts listening and asks the members for their WARs. Call once the host deploys (Tomcat: after its start). */
    void start() throws IOException {
        if (!started.compareAndSet(false, true)) {
            return; // the Host started again: already listening
        }
        Files.createDirectories(settings.tempDir());
        registrations.add(node.addMessageListener(FarmMessages.TOPIC, this::onMessage));
        registrations.add(node.addMembershipListener(e -> {
            if (e instanceof MembershipEvent.Joined j) {
                sender.announce(j.member(), FarmMessages.sync());
            } else if (e instanceof MembershipEvent.Left l) {
                if (receiver.dropFrom(l.member().id()) > 0) {
                    log.warn("FarmDeployer: " + l.member().describe() + " left while streaming a WAR here; the "
                            + "partial file was deleted");
                }
                // what was asked of it will not come: another member's offer may be taken at once
                submit(() -> requested.values().removeIf(r -> r.from().equals(l.member().id())));
            }
        }));
        sender.announce(FarmMessages.sync());
    }

    /** Tomcat's background thread: checks {@code watchDir} every {@code processDeployFrequency} runs. */
    void backgroundProcess() {
        if (!started.get()) {
            return;
        }
        int expired = receiver.expire();
        if (expired > 0) {
            log.warn("FarmDeployer: discarded " + expired + " incomplete WAR transfer(s) older than maxValidTime ("
                    + settings.maxValidTime().toSeconds() + " s)");
        }
        submit(this::retryRequests);
        if (watcher != null && ++backgroundRuns % settings.processDeployFrequency() == 0) {
            submit(this::scan);
        }
    }

    /**
     * Worker: a version asked for {@link #REQUEST_RETRY_NANOS} ago whose stream has not begun here (its sender's
     * stream failed: a broken connection, a refusal) is asked for again: the members are asked for their WARs, and
     * the first offer of it is requested. A sender ignores a request for a stream it has queued or is sending.
     */
    private void retryRequests() {
        long now = nanos.getAsLong();
        if (requested.entrySet().removeIf(r -> now - r.getValue().atNanos() > REQUEST_RETRY_NANOS
                && !receiver.receiving(r.getKey()))) {
            sender.announce(FarmMessages.sync());
        }
    }

    /** The farm's WARs held here, by name: {@code app.war sha256=… 1234 bytes from node1}, comma separated. */
    String deployed() {
        return inventory.values().stream().sorted(Comparator.comparing(FarmMessages.Entry::name))
                .map(FarmMessages.Entry::describe).collect(Collectors.joining(", "));
    }

    /** The farm's WARs held here, by name (for tests). */
    Map<String, FarmMessages.Entry> inventory() {
        return Map.copyOf(inventory);
    }

    @Override
    public void close() {
        registrations.forEach(Registration::close);
        stop(worker, "a deploy");
        sender.close();
        receiver.close();
    }

    /** Interrupts what {@code executor} runs and waits for it at most 5 s; says so when it did not stop. */
    static void stop(ExecutorService executor, String what) {
        executor.shutdownNow();
        try {
            if (!executor.awaitTermination(5, TimeUnit.SECONDS)) {
                log.warn("FarmDeployer: " + what + " did not stop within 5 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ------------------------------------------------------------------------------------------ messages

    private void onMessage(Message m) throws IOException {
        ByteBuffer p = m.payload().duplicate();
        byte kind = FarmMessages.kind(p);
        Member from = m.from();
        try {
            switch (kind) {
                case FarmMessages.SYNC -> {
                    List<FarmMessages.Entry> held = List.copyOf(inventory.values());
                    List<FarmMessages.Entry> gone = List.copyOf(removed.values());
                    if (!held.isEmpty() || !gone.isEmpty()) {
                        sender.announce(from, FarmMessages.offer(held, gone));
                    }
                }
                case FarmMessages.OFFER -> {
                    FarmMessages.Offer offered = FarmMessages.readOffer(p);
                    submit(() -> {
                        onRemoved(offered.removed());
                        onOffer(from, offered.held());
                    });
                }
                case FarmMessages.REQUEST -> {
                    String[] r = FarmMessages.readRequest(p);
                    FarmMessages.Entry e = inventory.get(r[0]);
                    if (e != null && e.sha256().equals(r[1])) {
                        sender.stream(from, e);
                    }
                }
                case FarmMessages.BEGIN -> {
                    long transfer = FarmMessages.readLong(p);
                    receiver.begin(from.id(), transfer, FarmMessages.readEntry(p));
                }
                case FarmMessages.CHUNK -> {
                    long transfer = FarmMessages.readLong(p);
                    long offset = FarmMessages.readLong(p);
                    FarmReceiver.Complete c = receiver.chunk(from.id(), transfer, offset, p);
                    if (c != null) {
                        submit(() -> install(c.entry(), c.file(), false, 0));
                    }
                }
                case FarmMessages.REMOVE -> {
                    FarmMessages.Entry gone = FarmMessages.readEntry(p);
                    FarmReceiver.checkName(gone.name());
                    submit(() -> {
                        remember(gone);
                        requested.remove(gone.name());
                        if (inventory.containsKey(gone.name())) {
                            undeploy(gone.name(), "removed from the farm by " + from.describe(), 0);
                        }
                    });
                }
                default -> throw new IllegalArgumentException("unknown farm message kind " + kind);
            }
        } catch (IllegalArgumentException e) {
            refused("a message from " + from.describe() + ": " + e.getMessage());
            throw e; // a PROCESSED sender (a stream) learns it and stops
        }
    }

    /**
     * Worker: undeploys each version removed from the farm that this member still holds (it was away when it was
     * removed): only that exact version (by hash), and only when it was not taken in again since.
     */
    private void onRemoved(List<FarmMessages.Entry> gone) {
        for (FarmMessages.Entry t : gone) {
            try {
                FarmReceiver.checkName(t.name());
            } catch (IllegalArgumentException x) {
                continue; // never written anywhere, nothing to undeploy
            }
            remember(t);
            FarmMessages.Entry mine = inventory.get(t.name());
            boolean stale = mine != null ? mine.sha256().equals(t.sha256()) && mine.modified() <= t.modified()
                    : t.sha256().equals(files.hashOf(t.name()));
            if (stale) {
                undeploy(t.name(), "removed from the farm by " + t.origin() + " while this member was away", 0);
            }
        }
    }

    /** Worker: keeps the newest removal of each name (at most {@link #MAX_REMOVED}), for members that come back. */
    private void remember(FarmMessages.Entry gone) {
        removed.merge(gone.name(), gone, (a, b) -> a.modified() >= b.modified() ? a : b);
        while (removed.size() > MAX_REMOVED) {
            removed.values().stream().min(Comparator.comparingLong(FarmMessages.Entry::modified))
                    .ifPresent(oldest -> removed.remove(oldest.name()));
        }
    }

    /** Whether this version of {@code e} was removed from the farm after it was taken in. */
    private boolean removedSince(FarmMessages.Entry e) {
        FarmMessages.Entry gone = removed.get(e.name());
        return gone != null && gone.sha256().equals(e.sha256()) && gone.modified() >= e.modified();
    }

    /** Worker: requests each offered version this member lacks and has no newer one of. */
    private void onOffer(Member from, List<FarmMessages.Entry> offered) {
        long now = nanos.getAsLong();
        for (FarmMessages.Entry e : offered) {
            try {
                FarmReceiver.checkName(e.name());
            } catch (IllegalArgumentException x) {
                refused("an offer of " + from.describe() + ": " + x.getMessage());
                continue;
            }
            FarmMessages.Entry mine = inventory.get(e.name());
            if (mine != null && (mine.sha256().equals(e.sha256()) || mine.modified() > e.modified())) {
                continue;
            }
            if (removedSince(e)) {
                continue; // a version removed since (its holder was away): its holder undeploys it on our offer
            }
            if (mine == null && e.sha256().equals(files.hashOf(e.name()))) {
                inventory.put(e.name(), e); // deployed here before (this member restarted): nothing to fetch
                continue;
            }
            Requested r = requested.get(e.name());
            if (r != null && r.sha256().equals(e.sha256()) && now - r.atNanos() < settings.maxValidTime().toNanos()) {
                continue; // asked another member for it already
            }
            requested.put(e.name(), new Requested(e.sha256(), now, from.id()));
            sender.announce(from, FarmMessages.request(e.name(), e.sha256()));
        }
    }

    // ------------------------------------------------------------------------------------------ the worker

    private void submit(Runnable task) {
        run(worker, task);
    }

    /** Counts a refusal and logs it: at WARN at most once every 10 s, at DEBUG otherwise. */
    private void refused(String what) {
        meters.refused().increment();
        long now = nanos.getAsLong();
        long last = refusalLoggedNanos.get();
        if (now - last >= REFUSAL_LOG_NANOS && refusalLoggedNanos.compareAndSet(last, now)) {
            int quiet = refusalsQuiet.getAndSet(0);
            log.warn("FarmDeployer: refused " + what + (quiet == 0 ? "" : " (and " + quiet + " more since the last "
                    + "such line)"));
        } else {
            refusalsQuiet.incrementAndGet();
            log.debug("FarmDeployer: refused " + what);
        }
    }

    /** Runs {@code task} on {@code executor}, logging what it throws; dropped (DEBUG) once the farm closes. */
    static void run(ExecutorService executor, Runnable task) {
        try {
            executor.execute(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    log.error("FarmDeployer: " + e.getMessage(), e);
                }
            });
        } catch (RejectedExecutionException e) {
            log.debug("FarmDeployer: closed, dropped a task"); // close() is under way; nothing more deploys
        }
    }

    /** Worker: one look at {@code watchDir}; settled WARs are taken into the farm, removed ones leave it. */
    private void scan() {
        List<FarmWatcher.Change> changes;
        try {
            changes = watcher.check();
        } catch (IOException e) {
            log.warn("FarmDeployer: cannot list watchDir " + settings.watchDir() + ": " + e);
            return;
        }
        for (FarmWatcher.Change c : changes) {
            FarmMessages.Entry mine = inventory.get(c.name());
            if (c.removed() && mine != null) {
                FarmMessages.Entry gone = new FarmMessages.Entry(c.name(), mine.size(), mine.sha256(),
                        System.currentTimeMillis(), self);
                remember(gone);
                undeploy(c.name(), "removed from watchDir", 0);
                sender.announce(FarmMessages.remove(gone));
            } else if (!c.removed()) {
                originate(c);
            }
        }
    }

    /** Worker: copies a settled WAR of {@code watchDir} to {@code tempDir}, hashing it, and deploys and offers it. */
    private void originate(FarmWatcher.Change c) {
        Path temp = null;
        try {
            temp = Files.createTempFile(settings.tempDir(), "outgoing-", ".war.part");
            MessageDigest digest = FarmReceiver.sha256();
            long size;
            try (InputStream in = Files.newInputStream(c.file()); OutputStream out = Files.newOutputStream(temp)) {
                size = files.copy(in, out, digest, c.name());
            }
            FarmMessages.Entry e = new FarmMessages.Entry(c.name(), size, HEX.formatHex(digest.digest()),
                    System.currentTimeMillis(), self);
            FarmMessages.Entry mine = inventory.get(c.name());
            if ((mine != null && mine.sha256().equals(e.sha256())) || e.sha256().equals(files.hashOf(c.name()))) {
                Files.delete(temp);
                inventory.put(c.name(), mine != null ? mine : e); // deployed already: only offer it
                removed.remove(c.name());
                offer(inventory.get(c.name()));
            } else {
                install(e, temp, true, 0);
            }
        } catch (IOException | IllegalArgumentException x) {
            log.warn("FarmDeployer: " + c.name() + " in watchDir is not deployed: " + x.getMessage());
            WarFiles.deleteQuietly(temp);
        }
    }

    private void offer(FarmMessages.Entry e) {
        sender.announce(FarmMessages.offer(List.of(e), List.of()));
    }

    /**
     * Worker: moves a complete, checked WAR into the deploy folder while Tomcat's deployer leaves it alone, and has
     * Tomcat deploy it (a new version: redeploy). While Tomcat is busy with that application, tries again 100 ms
     * later, at most {@link #BUSY_RETRIES} times.
     */
    private void install(FarmMessages.Entry e, Path file, boolean originated, int attempt) {
        FarmMessages.Entry mine = inventory.get(e.name());
        if (mine != null && mine.sha256().equals(e.sha256()) || !originated && removedSince(e)) {
            WarFiles.deleteQuietly(file); // held already, or removed from the farm while it was streaming here
            return;
        }
        Path target = FarmReceiver.inside(deployDir, e.name());
        try {
            boolean done = host.apply(e.name(), () -> {
                long previous = Files.exists(target) ? Files.getLastModifiedTime(target).toMillis() : 0;
                // Tomcat redeploys on any other modification time; make sure it is another one
                Files.setLastModifiedTime(file, FileTime.fromMillis(Math.max(System.currentTimeMillis(),
                        previous + 1000)));
                Files.move(file, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            });
            if (!done) {
                retry(attempt, e.name(), "deploy", () -> install(e, file, originated, attempt + 1),
                        () -> WarFiles.deleteQuietly(file));
                return;
            }
        } catch (AtomicMoveNotSupportedException x) {
            log.error("FarmDeployer: " + e.name() + " is not deployed: tempDir (" + settings.tempDir() + ") and the "
                    + "deploy folder (" + deployDir + ") must be on one file system, so that a WAR appears there "
                    + "whole; change tempDir");
            WarFiles.deleteQuietly(file);
            return;
        } catch (IOException | RuntimeException x) {
            log.error("FarmDeployer: " + e.name() + " is not deployed: " + x, x);
            WarFiles.deleteQuietly(file);
            return;
        }
        inventory.put(e.name(), e);
        removed.remove(e.name());
        requested.remove(e.name());
        files.forget(e.name());
        meters.deployed().increment();
        log.info("FarmDeployer: deployed " + e.describe() + (originated ? " (from watchDir)" : ""));
        if (originated) {
            offer(e);
        }
    }

    /** Worker: deletes a WAR of the farm from the deploy folder and has Tomcat undeploy its application. */
    private void undeploy(String name, String why, int attempt) {
        try {
            Path target = FarmReceiver.inside(deployDir, name);
            if (!host.apply(name, () -> Files.deleteIfExists(target))) {
                retry(attempt, name, "undeploy", () -> undeploy(name, why, attempt + 1), () -> { });
                return;
            }
        } catch (IOException | RuntimeException x) {
            log.error("FarmDeployer: " + name + " is not undeployed: " + x, x);
            return;
        }
        inventory.remove(name);
        files.forget(name);
        meters.undeployed().increment();
        log.info("FarmDeployer: undeployed " + name + " (" + why + ")");
    }

    private void retry(int attempt, String name, String what, Runnable again, Runnable giveUp) {
        if (attempt < BUSY_RETRIES) {
            try {
                worker.schedule(() -> submit(again), 100, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                giveUp.run(); // closing
            }
        } else {
            log.error("FarmDeployer: gave up to " + what + " " + name + ": Tomcat's deployer stayed busy with it for "
                    + BUSY_RETRIES / 10 + " s");
            giveUp.run();
        }
    }

    /** For the start log: the effective settings. */
    String describe() {
        return settings.describe(deployDir);
    }
}
