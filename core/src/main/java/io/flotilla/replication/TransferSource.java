package io.flotilla.replication;

import io.flotilla.Delivery;
import io.flotilla.Member;
import io.flotilla.MemberId;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The serving side of state transfer: streams every session held here (primaries and replicas, but not the asker's
 * own sessions) to a joiner that asks, in chunks of at most {@code stateTransferChunkBytes}, at most
 * {@code stateTransferWindow} unacknowledged. Each session goes as it is when its chunk is built, changes not yet
 * replicated included, once per transfer. A request from a member not yet in this member's view waits until it joins
 * (at most 64 such members); a repeated request for the same transfer is ignored; a request for a newer transfer from
 * the same member stops the older stream.
 *
 * <p>Threading: safe from any thread. One lock ({@code lock}) guards the requests (the last per member, those that
 * wait for their member to join); each {@link Stream} has its own lock for its position and window. Requests arrive
 * on the node's delivery threads, acknowledgements on the thread that completes a chunk's send, membership events on
 * the membership listener's thread.
 */
final class TransferSource {
    private static final System.Logger LOG = System.getLogger(TransferSource.class.getName());
    /** Transfer requests kept for members outside the view: as many as the node keeps streams for such senders. */
    private static final int MAX_DEFERRED = 64;

    private final Outbox out;
    private final ReplicationConfig config;
    private final SessionTable table;
    private final ReplicationMeters meters;
    private final Object lock = new Object();
    // transfer requests from members this member does not see yet, served once they join: served at once, the
    // snapshot would miss what this member creates before it sees them (it replicates only to its view)
    private final Map<MemberId, Long> deferred = new HashMap<>();
    // the stream to each requester (a newer transfer replaces it)
    private final Map<MemberId, Stream> streams = new ConcurrentHashMap<>();
    // the transfer each member asked for last (served, being served or deferred): a repeat of it is ignored
    private final Map<MemberId, Long> requested = new HashMap<>();

    TransferSource(Outbox out, ReplicationConfig config, SessionTable table, ReplicationMeters meters) {
        this.out = out;
        this.config = config;
        this.table = table;
        this.meters = meters;
    }

    void onRequest(Member from, long tid) {
        synchronized (lock) {
            Long last = requested.get(from.id());
            if (last != null && last == tid) {
                return; // asked again before its first chunk arrived: the stream is under way (or done)
            }
            if (!out.view().contains(from.id())) {
                if (deferred.size() < MAX_DEFERRED || deferred.containsKey(from.id())) {
                    deferred.put(from.id(), tid);
                    requested.put(from.id(), tid);
                    LOG.log(Level.INFO, "state transfer to " + from.describe() + " waits until this member sees it");
                }
                return;
            }
            requested.put(from.id(), tid);
        }
        serve(from, tid);
    }

    void joined(Member member) {
        Long tid;
        synchronized (lock) {
            tid = deferred.remove(member.id());
        }
        if (tid != null) {
            serve(member, tid);
        }
    }

    void left(Member member) {
        Stream sending = streams.remove(member.id());
        if (sending != null) {
            sending.stop();
        }
        synchronized (lock) {
            deferred.remove(member.id());
            requested.remove(member.id());
        }
    }

    /** Streams every session to {@code to}; a newer request from the same member stops the older stream. */
    private void serve(Member to, long tid) {
        Stream stream = new Stream(to, tid);
        Stream previous = streams.put(to.id(), stream);
        if (previous != null) {
            previous.stop();
        }
        stream.pump();
    }

    /** Streams every session to one joiner, a bounded window of chunks in flight. */
    private final class Stream {
        private final Member to;
        private final long tid;
        private final List<String> ids;
        // under this stream's lock, as nextChunk
        private final SessionCodec.RecordEncoder encoder = new SessionCodec.RecordEncoder();
        private int next;
        private int inflight;
        private int sent;
        private boolean pumping;
        private boolean again;
        private boolean failed;
        private boolean finished;

        Stream(Member to, long tid) {
            this.to = to;
            this.tid = tid;
            this.ids = table.idsToStream(to.id());
            LOG.log(Level.INFO, "state transfer to " + to.describe() + ": " + ids.size() + " sessions");
        }

        synchronized void stop() {
            failed = true;
        }

        void pump() {
            synchronized (this) {
                if (pumping) {
                    again = true;
                    return;
                }
                pumping = true;
            }
            while (true) {
                ByteBuffer msg = null;
                synchronized (this) {
                    if (!failed && !finished && inflight < config.stateTransferWindow()) {
                        if (next < ids.size()) {
                            msg = nextChunk();
                        } else if (inflight == 0) {
                            finished = true;
                            streams.remove(to.id(), this);
                            msg = ReplicationMessages.transferDone(tid, sent);
                            LOG.log(Level.INFO, "state transfer to " + to.describe() + " sent " + sent + " sessions");
                        }
                        if (msg != null) {
                            inflight++;
                        }
                    }
                    if (msg == null) {
                        if (again) {
                            again = false;
                            continue;
                        }
                        pumping = false;
                        return;
                    }
                }
                out.send(List.of(to), config.stateTransferTopic(), msg, Delivery.RECEIVED).whenComplete((v, e) -> {
                    synchronized (this) {
                        inflight--;
                        if (e != null && !failed) {
                            failed = true;
                            LOG.log(Level.WARNING, "state transfer to " + to.describe() + " stopped: "
                                    + e.getMessage());
                        }
                    }
                    pump();
                });
            }
        }

        private ByteBuffer nextChunk() {
            List<ReplicationMessages.Entry> entries = new ArrayList<>();
            int bytes = 0;
            while (next < ids.size() && (entries.isEmpty() || bytes < config.stateTransferChunkBytes())) {
                SessionTable.Held held = table.heldNow(ids.get(next));
                if (held != null) {
                    byte[] enc = encoder.encode(held.record());
                    int size = enc.length + MemberId.BYTES + 4;
                    if (!entries.isEmpty() && bytes + size > config.stateTransferChunkBytes()) {
                        break;
                    }
                    ReplicationMessages.Entry e = new ReplicationMessages.Entry(held.owner(), enc);
                    entries.add(e);
                    bytes += e.size();
                }
                next++;
            }
            sent += entries.size();
            meters.transferSessionsSent.increment(entries.size());
            meters.transferChunkBytes.record(bytes);
            return ReplicationMessages.chunk(tid, ids.size(), entries, bytes);
        }
    }
}
