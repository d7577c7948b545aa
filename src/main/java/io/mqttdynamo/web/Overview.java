package io.mqttdynamo.web;

import java.util.ArrayList;
import java.util.List;

import io.mqttdynamo.store.Tables;

/**
 * The dashboard's header as data: counts, the pipeline's health and the last minutes of throughput, for
 * all the replicas this one hears of (see {@link ClusterView}); client counts are this replica's.
 * How it is drawn is the page's business ({@code fmt:points} makes the chart's polyline).
 *
 * @param brokerProblem null when every replica's channels are connected, else why not (which replica)
 * @param onlineClients clients connected, from the counters; -1 while they cannot be read
 * @param knownClients clients in mqtt_client, from the counters; -1 while they cannot be read
 * @param tablesProblem null when the tables are active for every replica, else which one is not and why
 * @param reconnects times the replicas' MQTT sessions lost their connection and made it again since start
 * @param unacknowledgedMessages messages taken from the broker and not acknowledged yet (not yet stored)
 * @param chart per-second series, oldest first, summed over the replicas
 * @param replicas each replica's health and figures, this one first
 * @param delivery what the delivery functions did, summed over the replicas since each started
 * @param refusals writes DynamoDB refused for good or that failed, summed over the replicas since each started
 */
public record Overview(long onlineClients, long knownClients, boolean brokerUp, String brokerAddress,
        String brokerProblem, long reconnects, long unacknowledgedMessages, boolean dynamoUp, String tablesProblem,
        int pendingWrites, String lastError,
        long lastErrorAtMillis, double messagesPerSecond, double writeLatencyMillis, Chart chart,
        int replicaCount, List<Replica> replicas, Delivery delivery, Refusals refusals) {

    /** The tables the service writes: the EMQX backend's six and its own {@code mqtt_dynamo_stats}. */
    public int tableCount() {
        return Tables.values().length;
    }

    /**
     * Writes that failed for good ({@code mqtt_dynamo_write_failures_total}): items DynamoDB refused or would
     * refuse (over its key or size limits: dropped, their message acknowledged) and writes that failed inside
     * the service (their message left unacknowledged); the last one's reason and table, and when.
     */
    public record Refusals(long count, String last, long lastAtMillis) {

        public static final Refusals NONE = new Refusals(0, null, 0);

        Refusals plus(Refusals other, String replica) {
            if (other == null) {
                return this;
            }
            boolean theirs = other.last != null && other.lastAtMillis >= lastAtMillis;
            return new Refusals(count + other.count, theirs ? replica + other.last : last,
                    theirs ? other.lastAtMillis : lastAtMillis);
        }
    }

    /**
     * Counts of the delivery functions (read back into the broker): subscriptions restored for connected
     * clients and restores that failed or were skipped (on_subscribe_lookup), stored messages delivered to
     * new subscribers (on_message_fetch_for_queue), retained messages stored and republished
     * (on_retain_lookup).
     */
    public record Delivery(long subscriptionsRestored, long subscriptionRestoresFailed,
            long queuedMessagesRedelivered, long retainedStored, long retainedRepublished) {

        public static final Delivery NONE = new Delivery(0, 0, 0, 0, 0);

        Delivery plus(Delivery other) {
            return other == null ? this : new Delivery(subscriptionsRestored + other.subscriptionsRestored,
                    subscriptionRestoresFailed + other.subscriptionRestoresFailed,
                    queuedMessagesRedelivered + other.queuedMessagesRedelivered, retainedStored + other.retainedStored,
                    retainedRepublished + other.retainedRepublished);
        }
    }

    /**
     * Evenly spaced samples, oldest first: {@code messagesPerSecond[i]} and {@code writeLatencyMillis[i]}
     * cover the second that ended {@code (length - 1 - i) * stepSeconds} before {@code endMillis}.
     */
    public record Chart(int stepSeconds, long endMillis, double[] messagesPerSecond, double[] writeLatencyMillis) {
    }

    /** One replica as the dashboard lists it; {@code ageMillis}: how old its figures are. */
    public record Replica(String name, boolean self, boolean healthy, boolean brokerUp, String brokerProblem,
            boolean dynamoUp, String tablesProblem, int pendingWrites, long unacknowledgedMessages,
            double messagesPerSecond, String lastError, long lastErrorAtMillis, long ageMillis) {
    }

    /** Merges the replicas' snapshots, {@code replicas.get(0)} being this replica's. */
    static Overview of(long onlineClients, long knownClients, String brokerAddress, List<ReplicaSnapshot> replicas) {
        ReplicaSnapshot self = replicas.get(0);
        long now = System.currentTimeMillis();
        boolean brokerUp = true;
        boolean dynamoUp = true;
        String brokerProblem = null;
        String tablesProblem = null;
        long reconnects = 0;
        long unacknowledged = 0;
        int pending = 0;
        double rate = 0;
        double latencyWeighted = 0;
        double latencyMax = 0;
        String lastError = null;
        long lastErrorAt = 0;
        List<Replica> list = new ArrayList<>();
        Delivery delivery = Delivery.NONE;
        Refusals refusals = Refusals.NONE;
        int seconds = self.messagesPerSecondSeries().length;
        double[] rates = new double[seconds];
        double[] latencyTimesRate = new double[seconds];
        double[] latencyPeak = new double[seconds];
        for (ReplicaSnapshot r : replicas) {
            boolean isSelf = r == self;
            String name = isSelf ? "" : "replica " + r.replica() + ": ";
            if (!r.brokerUp()) {
                brokerUp = false;
                if (brokerProblem == null || isSelf) {
                    brokerProblem = name + r.brokerProblem();
                }
            }
            if (!r.dynamoUp()) {
                dynamoUp = false;
                if (tablesProblem == null || isSelf) {
                    tablesProblem = name + r.tablesProblem();
                }
            }
            reconnects += r.reconnects();
            delivery = delivery.plus(r.delivery());
            refusals = refusals.plus(r.refusals(), name);
            unacknowledged += r.unacknowledgedMessages();
            pending += r.pendingWrites();
            rate += r.messagesPerSecond();
            latencyWeighted += r.writeLatencyMillis() * r.messagesPerSecond();
            latencyMax = Math.max(latencyMax, r.writeLatencyMillis());
            if (r.lastError() != null && r.lastErrorAtMillis() >= lastErrorAt) {
                lastError = name + r.lastError();
                lastErrorAt = r.lastErrorAtMillis();
            }
            // Line the series up by the second each sample ended in: their sample j ended at
            // theirEnd - (n - 1 - j) s, ours i at ourEnd - (n - 1 - i) s; equal for j = i + (ourEnd - theirEnd) s.
            long shift = Math.round((self.chartEndMillis() - r.chartEndMillis()) / 1000.0);
            double[] theirRates = r.messagesPerSecondSeries();
            double[] theirLatency = r.writeLatencySeries();
            for (int i = 0; i < seconds; i++) {
                long j = i + (theirRates.length - seconds) + shift;
                if (j >= 0 && j < theirRates.length && j < theirLatency.length) {
                    rates[i] += theirRates[(int) j];
                    latencyTimesRate[i] += theirLatency[(int) j] * theirRates[(int) j];
                    latencyPeak[i] = Math.max(latencyPeak[i], theirLatency[(int) j]);
                }
            }
            list.add(new Replica(r.replica(), isSelf, r.healthy(), r.brokerUp(), r.brokerProblem(), r.dynamoUp(),
                    r.tablesProblem(), r.pendingWrites(), r.unacknowledgedMessages(), r.messagesPerSecond(),
                    r.lastError(), r.lastErrorAtMillis(), isSelf ? 0 : Math.max(0, now - r.atMillis())));
        }
        double[] latency = new double[seconds];
        for (int i = 0; i < seconds; i++) {
            // Weighted by each replica's rate; a second with writes but no messages (acks) keeps its peak.
            latency[i] = rates[i] > 0 ? latencyTimesRate[i] / rates[i] : latencyPeak[i];
        }
        return new Overview(onlineClients, knownClients, brokerUp, brokerAddress, brokerProblem, reconnects,
                unacknowledged, dynamoUp, tablesProblem, pending, lastError, lastErrorAt, rate,
                rate > 0 ? latencyWeighted / rate : latencyMax,
                new Chart(1, self.chartEndMillis(), rates, latency), list.size(), List.copyOf(list), delivery,
                refusals);
    }
}
