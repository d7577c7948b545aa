package io.mqttdynamo.web;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.mqttdynamo.cluster.ClusterView;
import io.mqttdynamo.cluster.ReplicaSnapshot;
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
public record Overview(
        long onlineClients,
        long knownClients,
        boolean brokerUp,
        String brokerAddress,
        String brokerProblem,
        long reconnects,
        long unacknowledgedMessages,
        boolean dynamoUp,
        String tablesProblem,
        int pendingWrites,
        String lastError,
        long lastErrorAtMillis,
        double messagesPerSecond,
        double writeLatencyMillis,
        Chart chart,
        int replicaCount,
        List<Replica> replicas,
        ReplicaSnapshot.Delivery delivery,
        ReplicaSnapshot.Refusals refusals,
        List<TableCost> writeCost) {

    /**
     * What a table's writes cost lately, summed over the replicas: write units per second over the last minute, and
     * per message stored in that time (null while no message came).
     */
    public record TableCost(String table, double unitsPerSecond, Double unitsPerMessage) {}

    /** The tables the service writes: the EMQX backend's six and its own {@code mqtt_dynamo_stats}. */
    public int tableCount() {
        return Tables.values().length;
    }

    /**
     * Evenly spaced samples, oldest first: {@code messagesPerSecond[i]} and {@code writeLatencyMillis[i]}
     * cover the second that ended {@code (length - 1 - i) * stepSeconds} before {@code endMillis}.
     */
    public record Chart(int stepSeconds, long endMillis, double[] messagesPerSecond, double[] writeLatencyMillis) {}

    /** One replica as the dashboard lists it; {@code ageMillis}: how old its figures are. */
    public record Replica(
            String name,
            boolean self,
            boolean healthy,
            boolean brokerUp,
            String brokerProblem,
            boolean dynamoUp,
            String tablesProblem,
            int pendingWrites,
            long unacknowledgedMessages,
            double messagesPerSecond,
            String lastError,
            long lastErrorAtMillis,
            long ageMillis) {}

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
        ReplicaSnapshot.Delivery delivery = ReplicaSnapshot.Delivery.NONE;
        ReplicaSnapshot.Refusals refusals = ReplicaSnapshot.Refusals.NONE;
        Map<String, Double> unitsPerSecond = new TreeMap<>();
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
            if (r.writeUnitsPerSecond() != null) {
                r.writeUnitsPerSecond().forEach((table, units) -> unitsPerSecond.merge(table, units, Double::sum));
            }
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
            list.add(new Replica(
                    r.replica(),
                    isSelf,
                    r.healthy(),
                    r.brokerUp(),
                    r.brokerProblem(),
                    r.dynamoUp(),
                    r.tablesProblem(),
                    r.pendingWrites(),
                    r.unacknowledgedMessages(),
                    r.messagesPerSecond(),
                    r.lastError(),
                    r.lastErrorAtMillis(),
                    isSelf ? 0 : Math.max(0, now - r.atMillis())));
        }
        double[] latency = new double[seconds];
        for (int i = 0; i < seconds; i++) {
            // Weighted by each replica's rate; a second with writes but no messages (acks) keeps its peak.
            latency[i] = rates[i] > 0 ? latencyTimesRate[i] / rates[i] : latencyPeak[i];
        }
        // Messages per second over the cost lines' minute, from the merged series.
        double lastMinute = 0;
        int window = Math.min(seconds, Throughput.COST_SECONDS);
        for (int i = seconds - window; i < seconds; i++) {
            lastMinute += rates[i];
        }
        double messagesPerSecond = window == 0 ? 0 : lastMinute / window;
        List<TableCost> cost = new ArrayList<>();
        unitsPerSecond.forEach((table, units) ->
                cost.add(new TableCost(table, units, messagesPerSecond > 0 ? units / messagesPerSecond : null)));
        return new Overview(
                onlineClients,
                knownClients,
                brokerUp,
                brokerAddress,
                brokerProblem,
                reconnects,
                unacknowledged,
                dynamoUp,
                tablesProblem,
                pending,
                lastError,
                lastErrorAt,
                rate,
                rate > 0 ? latencyWeighted / rate : latencyMax,
                new Chart(1, self.chartEndMillis(), rates, latency),
                list.size(),
                List.copyOf(list),
                delivery,
                refusals,
                List.copyOf(cost));
    }
}
