package io.mqttdynamo.bench;

import java.io.IOException;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** What the service's metrics and log tell: write units, its latency histogram, reconnections. */
final class ServiceProbes {

    /** A log line of a channel that lost its connection. */
    static final Pattern DISCONNECTED = Pattern.compile("MQTT channel .* disconnected");

    private ServiceProbes() {}

    /** The write units DynamoDB reported for the service's writes so far, over all tables. */
    static double writeUnits(BenchService service) {
        String metrics = service.get("/q/metrics").orElse("");
        double sum = 0;
        for (String line : metrics.split("\n")) {
            if (line.startsWith("mqtt_dynamo_consumed_write_units_total{")) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    /**
     * The upper bound (ms) of the first histogram bucket of mqtt_dynamo_persist_latency (messages channel) that
     * holds the quantile {@code q} of what was recorded between two readings of the metrics; null without samples.
     */
    static Double bucketQuantileMillis(String before, String after, double q) {
        TreeMap<Double, Double> buckets = latencyBuckets(after);
        latencyBuckets(before).forEach((bound, count) -> buckets.merge(bound, -count, Double::sum));
        if (buckets.isEmpty() || buckets.lastEntry().getValue() <= 0) {
            return null;
        }
        double total = buckets.lastEntry().getValue();
        for (Map.Entry<Double, Double> bucket : buckets.entrySet()) {
            if (bucket.getValue() >= q * total) {
                return BenchSupport.round(bucket.getKey() * 1000, 1);
            }
        }
        return null;
    }

    /** The messages channel's cumulative publish-to-persisted buckets: upper bound in seconds to count. */
    private static TreeMap<Double, Double> latencyBuckets(String metrics) {
        String prefix = "mqtt_dynamo_persist_latency_seconds_bucket{channel=\"messages\",le=\"";
        TreeMap<Double, Double> buckets = new TreeMap<>();
        for (String line : metrics.split("\\n")) {
            if (line.startsWith(prefix)) {
                String le = line.substring(prefix.length(), line.indexOf('"', prefix.length()));
                double bound = le.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(le);
                buckets.put(bound, Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)));
            }
        }
        return buckets;
    }

    /** Lines of the service's log that say a channel lost its connection. */
    static long disconnectedLines(BenchService service) throws IOException {
        return service.log().lines().filter(l -> DISCONNECTED.matcher(l).find()).count();
    }

    /** The service's reconnections: from a metric when it has one, else from its log. */
    static void reconnects(ObjectNode out, BenchService service, String metrics) throws IOException {
        double metric = 0;
        String metricName = null;
        for (String line : metrics.split("\n")) {
            if (line.startsWith("#") || line.isBlank()) {
                continue;
            }
            String name = line.split("[{ ]", 2)[0];
            if (name.toLowerCase().contains("reconnect")) {
                metricName = name;
                metric += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        long logged = disconnectedLines(service);
        if (metricName != null) {
            out.put("reconnects", (long) metric);
            out.put("reconnects_source", "metric " + metricName);
        } else {
            out.put("reconnects", logged);
            out.put("reconnects_source", "log lines 'MQTT channel .* disconnected'");
        }
        out.put("disconnected_log_lines", logged);
    }
}
