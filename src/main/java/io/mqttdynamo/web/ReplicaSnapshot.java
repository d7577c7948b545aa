package io.mqttdynamo.web;

import java.util.List;

import io.quarkus.runtime.annotations.RegisterForReflection;

/**
 * What one replica tells the others every few seconds, for the dashboard: its figures and health, the
 * last minutes of its ingest rate and write latency, and its recent messages' metadata (no payloads: the
 * snapshot travels through the broker, where anyone allowed to subscribe could read it).
 *
 * @param chartEndMillis when the newest second of the series ended (the replica's clock)
 * @param messagesPerSecondSeries per second, oldest first, {@link Throughput#SECONDS} long
 * @param delivery what its delivery functions did since it started; null from a replica that does not say
 * @param refusals its writes refused or failed for good since it started; null from a replica that does not say
 */
// Read and written by Jackson outside a REST method, so registered for the native image by hand.
@RegisterForReflection(targets = {ReplicaSnapshot.class, ReplicaSnapshot.RecentMessage.class, Overview.Delivery.class,
        Overview.Refusals.class})
public record ReplicaSnapshot(String replica, long atMillis, boolean brokerUp, String brokerProblem,
        boolean dynamoUp, String tablesProblem, int pendingWrites, long unacknowledgedMessages, long reconnects,
        String lastError, long lastErrorAtMillis, double messagesPerSecond, double writeLatencyMillis,
        long chartEndMillis, double[] messagesPerSecondSeries, double[] writeLatencySeries,
        List<RecentMessage> recent, Overview.Delivery delivery, Overview.Refusals refusals) {

    /** A stored message, without its payload. */
    public record RecentMessage(String msgId, String topic, int qos, boolean retain, String sender, int payloadSize,
            boolean binary, boolean leftOut, long arrivedMillis) {
    }

    /** Healthy: connected to the broker and the tables are there. */
    public boolean healthy() {
        return brokerUp && dynamoUp;
    }
}
