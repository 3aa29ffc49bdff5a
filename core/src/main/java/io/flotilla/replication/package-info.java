/**
 * Session replication on a {@link io.flotilla.Node}: one owner per session, deltas to the replicas, take-over,
 * state transfer (see {@code docs/architecture.md}, "Replication").
 *
 * <p><b>API</b> (what the Tomcat adapter and an embedding program rely on): {@link
 * io.flotilla.replication.ReplicationEngine} and its builder, {@link io.flotilla.replication.ReplicationConfig}
 * with its enums, {@link io.flotilla.replication.CodecConfig}, {@link io.flotilla.replication.ClassAllowlist},
 * {@link io.flotilla.replication.Placement}, {@link io.flotilla.replication.PrimarySession}, {@link
 * io.flotilla.replication.ReplicaListener} with {@link io.flotilla.replication.ReplicaChange} and {@link
 * io.flotilla.replication.ReplicaCause}, {@link io.flotilla.replication.StateTransfer}, {@link
 * io.flotilla.replication.ReplicationStats}, the values they return ({@link io.flotilla.replication.SessionRecord},
 * {@link io.flotilla.replication.SessionMetadata}, {@link io.flotilla.replication.AttributeCodec} from {@code
 * codec()}), and the exceptions {@link io.flotilla.replication.CodecException}, {@link
 * io.flotilla.replication.AttributeCodecException} and {@link io.flotilla.replication.TakeOverException}.
 *
 * <p><b>Internal</b> (public only because the benchmarks measure them; no compatibility promise): the delta model
 * and its wire codec, {@code SessionCodec}, {@code SessionRecorder}, {@code SessionDelta} and {@code SessionOp}.
 * They are to move out of the way (docs/architecture.md, "Public API"). Every other type is package-private.
 *
 * <p>Threading and errors: the engine and a primary session are safe from any thread; incoming messages are handled
 * on the node's delivery threads and timers on its scheduler, and no lock is held while waiting on the network.
 * {@code replicate} and {@code takeOver} return stages that fail with a {@link io.flotilla.FlotillaException}
 * subclass (delivery, codec, take-over), never with an empty or stale session; an attribute the codec refuses fails
 * {@code setAttribute} (or is skipped, as configured) with the class and the fix in the message. Listeners run with
 * no engine lock held; one that throws is logged and skipped.
 */
package io.flotilla.replication;
