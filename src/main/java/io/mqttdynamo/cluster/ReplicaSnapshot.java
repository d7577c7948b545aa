package io.mqttdynamo.cluster;

import java.util.List;
import java.util.Map;

import io.quarkus.runtime.annotations.RegisterForReflection;

/**
 * What one replica tells the others every few seconds, for the dashboard: its figures and health, the
 * last minutes of its ingest rate and write latency, and its recent messages' metadata (no payloads: the
 * snapshot travels through the broker, where anyone allowed to subscribe could read it).
 *
 * @param chartEndMillis when the newest second of the series ended (the replica's clock)
 * @param messagesPerSecondSeries per second, oldest first, as long as the dashboard's chart
 * @param delivery what its delivery functions did since it started; null from a replica that does not say
 * @param refusals its writes refused or failed for good since it started; null from a replica that does not say
 * @param writeUnitsPerSecond write units DynamoDB reported for its writes per second over the last minute, by table;
 *     null from a replica that does not say
 */
// Read and written by Jackson outside a REST method, so registered for the native image by hand.
@RegisterForReflection(
        targets = {
            ReplicaSnapshot.class,
            ReplicaSnapshot.RecentMessage.class,
            ReplicaSnapshot.Delivery.class,
            ReplicaSnapshot.Refusals.class
        })
public record ReplicaSnapshot(
        String replica,
        long atMillis,
        boolean brokerUp,
        String brokerProblem,
        boolean dynamoUp,
        String tablesProblem,
        int pendingWrites,
        long unacknowledgedMessages,
        long reconnects,
        String lastError,
        long lastErrorAtMillis,
        double messagesPerSecond,
        double writeLatencyMillis,
        long chartEndMillis,
        double[] messagesPerSecondSeries,
        double[] writeLatencySeries,
        List<RecentMessage> recent,
        Delivery delivery,
        Refusals refusals,
        Map<String, Double> writeUnitsPerSecond) {

    /** A stored message, without its payload. */
    public record RecentMessage(
            String msgId,
            String topic,
            int qos,
            boolean retain,
            String sender,
            int payloadSize,
            boolean binary,
            boolean leftOut,
            long arrivedMillis) {}

    /**
     * Counts of the delivery functions (read back into the broker): subscriptions restored for connected
     * clients and restores that failed or were skipped (on_subscribe_lookup), stored messages delivered to
     * new subscribers (on_message_fetch_for_queue), retained messages stored and republished
     * (on_retain_lookup).
     */
    public record Delivery(
            long subscriptionsRestored,
            long subscriptionRestoresFailed,
            long queuedMessagesRedelivered,
            long retainedStored,
            long retainedRepublished) {

        public static final Delivery NONE = new Delivery(0, 0, 0, 0, 0);

        public Delivery plus(Delivery other) {
            return other == null
                    ? this
                    : new Delivery(
                            subscriptionsRestored + other.subscriptionsRestored,
                            subscriptionRestoresFailed + other.subscriptionRestoresFailed,
                            queuedMessagesRedelivered + other.queuedMessagesRedelivered,
                            retainedStored + other.retainedStored,
                            retainedRepublished + other.retainedRepublished);
        }
    }

    /**
     * Writes that failed for good ({@code mqtt_dynamo_write_failures_total}): items DynamoDB refused or would
     * refuse (over its key or size limits: dropped, their message acknowledged) and writes that failed inside
     * the service (their message left unacknowledged); the last one's reason and table, and when.
     */
    public record Refusals(long count, String last, long lastAtMillis) {

        public static final Refusals NONE = new Refusals(0, null, 0);

        /** Both, the newer last reason kept (named by {@code replica} when it is the other's). */
        public Refusals plus(Refusals other, String replica) {
            if (other == null) {
                return this;
            }
            boolean theirs = other.last != null && other.lastAtMillis >= lastAtMillis;
            return new Refusals(
                    count + other.count,
                    theirs ? replica + other.last : last,
                    theirs ? other.lastAtMillis : lastAtMillis);
        }
    }

    /** Healthy: connected to the broker and the tables are there. */
    public boolean healthy() {
        return brokerUp && dynamoUp;
    }
}
