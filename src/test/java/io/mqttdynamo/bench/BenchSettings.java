package io.mqttdynamo.bench;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * The benchmark's settings (system properties, see {@link Benchmark}) and what the pieces derive from them: the
 * topics and payloads published.
 */
record BenchSettings(
        int messages,
        int topics,
        int payloadBytes,
        int latencyMessages,
        List<String> modes,
        boolean naive,
        int warmupMessages,
        Duration stall,
        Duration maxWait,
        Path dir,
        String run) {

    /** The topic of the broker rule's envelopes in envelope mode. */
    static final String ENVELOPE_TOPIC = "bench-events/message_publish";

    static BenchSettings fromSystemProperties() {
        return new BenchSettings(
                Integer.getInteger("bench.messages", 20_000),
                Integer.getInteger("bench.topics", 100),
                Integer.getInteger("bench.payload", 200),
                Integer.getInteger("bench.latencyMessages", 5_000),
                Arrays.stream(System.getProperty("bench.modes", "raw,envelope").split(","))
                        .map(String::trim)
                        .filter(s -> !s.isEmpty())
                        .toList(),
                Boolean.parseBoolean(System.getProperty("bench.naive", "true")),
                // Messages published and stored before the measured run, so that it measures a warm JVM.
                Integer.getInteger("bench.warmupMessages", 10_000),
                Duration.ofSeconds(Long.getLong("bench.stallSeconds", 120)),
                Duration.ofSeconds(Long.getLong("bench.maxSeconds", 300)),
                Path.of("target", "bench"),
                Long.toHexString(System.currentTimeMillis()));
    }

    String topic(long i) {
        return "bench/sensor/" + (i % topics);
    }

    /** A JSON payload of {@code bench.payload} bytes carrying the sequence number and the send time. */
    String payload(long seq) {
        String head = "{\"seq\":" + seq + ",\"sent_ms\":" + System.currentTimeMillis() + ",\"pad\":\"";
        int pad = Math.max(0, payloadBytes - head.length() - 2);
        return head + "x".repeat(pad) + "\"}";
    }
}
