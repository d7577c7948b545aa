package io.mqttdynamo.web;

import java.util.Locale;

/**
 * The dashboard's header: counts, the pipeline's health and the throughput chart (SVG polyline points,
 * computed here so that the page needs no script to draw it).
 */
public record Overview(int onlineClients, long knownClients, boolean brokerUp, String brokerDetail,
        boolean dynamoUp, String dynamoDetail, int pendingWrites, String lastError, long lastErrorAtMillis,
        double messagesPerSecond, double writeLatencyMillis, String ratePoints, String latencyPoints,
        double rateMax, double latencyMax) {

    /** Chart size in SVG user units. */
    public static final int CHART_WIDTH = 300;
    public static final int CHART_HEIGHT = 60;

    /** Polyline points of a series scaled to the chart, and its maximum. */
    static String points(double[] values, double max) {
        StringBuilder points = new StringBuilder(values.length * 10);
        double step = values.length > 1 ? (double) CHART_WIDTH / (values.length - 1) : 0;
        for (int i = 0; i < values.length; i++) {
            double y = CHART_HEIGHT - (max <= 0 ? 0 : values[i] / max * (CHART_HEIGHT - 2)) - 1;
            points.append(String.format(Locale.ROOT, "%.1f,%.1f ", i * step, y));
        }
        return points.toString().trim();
    }

    static double max(double[] values) {
        double max = 0;
        for (double v : values) {
            max = Math.max(max, v);
        }
        return max;
    }
}
