package io.mqttdynamo.web;

/**
 * The dashboard's header as data: counts, the pipeline's health and the last minutes of throughput.
 * How it is drawn is the page's business ({@code fmt:points} makes the chart's polyline).
 *
 * @param brokerProblem null when every channel is connected, else why not
 * @param onlineClients clients connected, from the counters; -1 while they cannot be read
 * @param knownClients clients in mqtt_client, from the counters; -1 while they cannot be read
 * @param tablesProblem null when the tables are active, else which one is not and why
 * @param reconnects times the MQTT sessions lost their connection and made it again since start
 * @param unacknowledgedMessages messages taken from the broker and not acknowledged yet (not yet stored)
 * @param chart per-second series, oldest first
 */
public record Overview(long onlineClients, long knownClients, boolean brokerUp, String brokerAddress,
        String brokerProblem, long reconnects, long unacknowledgedMessages, boolean dynamoUp, String tablesProblem,
        int pendingWrites, String lastError,
        long lastErrorAtMillis, double messagesPerSecond, double writeLatencyMillis, Chart chart) {

    /**
     * Evenly spaced samples, oldest first: {@code messagesPerSecond[i]} and {@code writeLatencyMillis[i]}
     * cover the second that ended {@code (length - 1 - i) * stepSeconds} before {@code endMillis}.
     */
    public record Chart(int stepSeconds, long endMillis, double[] messagesPerSecond, double[] writeLatencyMillis) {
    }
}
